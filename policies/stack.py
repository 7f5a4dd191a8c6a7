"""A stack: resources with their region resolved, side resources joined, and indexes.

Building a stack is O(n) in the number of resources: every index is one pass, and side resources
find their bucket through a dict keyed by URN or bucket name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from policies.model import UNKNOWN, Resource
from policies.settings import Settings
from policies.tokens import (
    ARN_IS_DESTINATION,
    S3_BUCKET_TYPES,
    bucket_side_kind,
)

_ARN_REGION = re.compile(r"^arn:(aws[a-z-]*):[a-z0-9-]+:([a-z0-9-]*):")
_REGION_SHAPE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


def partition_of(region: Any) -> Any:
    """The AWS partition a region belongs to."""
    if region is UNKNOWN or region is None:
        return region
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso"):
        return "aws-iso"
    return "aws"


@dataclass(eq=False)
class Stack:
    resources: list[Resource]
    config: dict[str, Any] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    source: str = ""
    by_urn: dict[str, Resource] = field(default_factory=dict)
    by_type: dict[str, list[Resource]] = field(default_factory=dict)
    _referrers: dict[str, list[Resource]] | None = None
    #: Per-stack indexes rules build once (see `memo`).
    _memo: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, build: Callable[[Stack], Any]) -> Any:
        """An index a rule needs for the whole stack, built on first use (rules stay O(n))."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = build(self)
            return value

    @classmethod
    def build(
        cls,
        resources: Iterable[Resource],
        config: dict[str, Any] | None = None,
        settings: Settings | None = None,
        source: str = "",
    ) -> Stack:
        stack = cls(resources=list(resources), config=dict(config or {}), source=source)
        if settings is not None:
            stack.settings = settings
        stack._index()
        stack._resolve_regions()
        stack._join_side_resources()
        return stack

    # -- indexes ---------------------------------------------------------------------------------

    def _index(self) -> None:
        by_type: dict[str, list[Resource]] = defaultdict(list)
        for res in self.resources:
            # What a previous stack joined or derived for this resource does not carry over.
            res.side, res.owner, res.cache = {}, None, {}
            self.by_urn[res.urn] = res
            by_type[res.type].append(res)
        self.by_type = dict(by_type)

    def of_type(self, *types: str) -> list[Resource]:
        out: list[Resource] = []
        for t in types:
            out.extend(self.by_type.get(t, ()))
        return out

    def holds_personal_data(self, res: Resource) -> bool:
        """Whether a store's category (its classification tag; fail safe when missing) is personal."""
        return self.settings.category_of(res.tags).personal

    def referrers(self, res: Resource) -> list[Resource]:
        """Resources that depend on `res` (through dependencies or property dependencies)."""
        if self._referrers is None:
            index: dict[str, list[Resource]] = defaultdict(list)
            for other in self.resources:
                seen: set[str] = set(other.dependencies)
                for deps in other.property_dependencies.values():
                    seen.update(deps)
                for urn in seen:
                    index[urn].append(other)
            self._referrers = dict(index)
        return self._referrers.get(res.urn, [])

    def provider_of(self, res: Resource) -> Resource | None:
        ref = res.provider
        if not ref:
            return None
        return self.by_urn.get(_provider_urn(ref))

    # -- region ------------------------------------------------------------------------------------

    def _config_region(self, package: str = "aws") -> Any:
        value = self.config.get(f"{package}:region")
        if value is None:
            return None
        if isinstance(value, str) and value not in ("", "[secret]"):
            return value
        return UNKNOWN

    def _resolve_regions(self) -> None:
        config_regions: dict[str, Any] = {}
        providers: dict[str, tuple[Any, str]] = {}
        for res in self.resources:
            if res.type.startswith(PROVIDER_PREFIX):
                providers[res.urn] = self._provider_region(res, config_regions)
        for res in self.resources:
            if res.urn in providers:
                region, how = providers[res.urn]
            else:
                region, how = self._region_for(res, providers, config_regions)
            res.region = region
            res.region_source = how
            self._inherit_default_tags(res)
            partition = partition_of(region) if package_of(res.type) in ("aws", "aws-native") else None
            if partition is None:
                partition = _arn_partition(res)
            res.partition = partition

    def _package_config_region(self, package: str, cache: dict[str, Any]) -> Any:
        if package not in cache:
            cache[package] = self._config_region(package)
        return cache[package]

    def _provider_region(self, provider: Resource, config_regions: dict[str, Any]) -> tuple[Any, str]:
        """Where a provider deploys: its `region` input; a default provider takes `<pkg>:region` from the
        stack config; an explicit provider without a region takes it from the deploying machine's
        environment (AWS_REGION), which the input cannot show: unknown, and said so."""
        package = provider.type[len(PROVIDER_PREFIX) :]
        for key in _REGION_KEYS:
            own = provider.props.get(key)
            if own is UNKNOWN:
                return UNKNOWN, "provider region (unknown until apply)"
            if isinstance(own, str) and own:
                return own, "resource region input"
        if is_default_provider(provider.name):
            config_region = self._package_config_region(package, config_regions)
            if config_region is not None:
                return config_region, f"stack config {package}:region"
            return None, "none"
        return UNKNOWN, f"explicit provider without region {provider.name}"

    def _inherit_default_tags(self, res: Resource) -> None:
        """Tags from the provider's `defaultTags` apply to every resource it creates; the resource's own
        tags win, and a classification on the resource wins over any classification in the defaults
        (whatever key each uses)."""
        if res.type.startswith(PROVIDER_PREFIX) or not res.custom:
            return
        provider = self.provider_of(res)
        if provider is not None:
            default = provider.props.get("defaultTags")
            origin = f"provider '{provider.name}' defaultTags"
        else:
            # No provider in the input (a preview has no provider steps): Pulumi's default provider
            # takes its defaultTags from the stack config.
            name = _provider_name(_provider_urn(res.provider)) if res.provider else None
            if name is not None and not is_default_provider(name):
                return
            package = package_of(res.type)
            default = self.config.get(f"{package}:defaultTags")
            origin = f"stack config {package}:defaultTags"
        if isinstance(default, str):
            # Provider inputs arrive as strings: defaultTags is JSON there.
            import json

            try:
                default = json.loads(default)
            except ValueError:
                return
        if isinstance(default, list):
            default = default[0] if default else None
        tags = default.get("tags") if isinstance(default, dict) else None
        if not (isinstance(tags, dict) and tags and isinstance(res.tags, dict)):
            return
        inherited = dict(tags)
        if self.settings.classification(res.tags)[0] is not None:
            key = self.settings.classification(inherited)[0]
            while key is not None:
                inherited.pop(key)
                key = self.settings.classification(inherited)[0]
        inherited = {k: v for k, v in inherited.items() if k not in res.tags}
        if inherited:
            res.tags = {**inherited, **res.tags}
            res.inherited_tags = dict.fromkeys(inherited, origin)

    def _region_for(
        self, res: Resource, providers: dict[str, tuple[Any, str]], config_regions: dict[str, Any]
    ) -> tuple[Any, str]:
        for key in _REGION_KEYS:
            own = res.props.get(key)
            if own is UNKNOWN:
                return UNKNOWN, "resource region (unknown until apply)"
            if isinstance(own, str) and own:
                if res.input_keys and key not in res.input_keys:
                    return own, "deployed region"
                return own, "resource region input"
        package = package_of(res.type)
        ref = res.provider
        if ref:
            urn = _provider_urn(ref)
            if urn in providers:
                region, how = providers[urn]
                if how == "resource region input":
                    return region, f"provider {self.by_urn[urn].name}"
                if region is not None:
                    # Unknown until apply, an explicit provider without a region, or the stack config.
                    return region, how
            else:
                name = _provider_name(urn)
                if name is not None and not is_default_provider(name):
                    # An explicit provider the input does not hold (a preview without its step):
                    # its region cannot be read here.
                    return UNKNOWN, f"explicit provider not in input {name}"
        config_region = self._package_config_region(package, config_regions)
        if config_region is not None:
            return config_region, f"stack config {package}:region"
        evidence = _arn_region(res)
        if evidence:
            return evidence, "ARN"
        return None, "none"

    # -- side resources ------------------------------------------------------------------------------

    def _join_side_resources(self) -> None:
        buckets = [r for t in S3_BUCKET_TYPES for r in self.by_type.get(t, ())]
        by_name: dict[str, Resource] = {}
        for bucket in buckets:
            for key in ("bucket", "id"):
                value = bucket.props.get(key)
                if isinstance(value, str) and value:
                    by_name.setdefault(value, bucket)
        for res in self.resources:
            kind = bucket_side_kind(res.type)
            if kind is None:
                continue
            owner = None
            for urn in res.property_dependencies.get("bucket", ()):
                candidate = self.by_urn.get(urn)
                if candidate is not None and candidate.type in S3_BUCKET_TYPES:
                    owner = candidate
                    break
            if owner is None:
                name = res.props.get("bucket")
                if isinstance(name, str):
                    owner = by_name.get(name)
                    if owner is None and name.startswith("arn:"):
                        owner = by_name.get(name.rsplit(":", 1)[-1])
            if owner is not None:
                res.owner = owner
                owner.side.setdefault(kind, []).append(res)


#: Properties that name where a resource or provider deploys (`location` for Azure-like clouds).
_REGION_KEYS = ("region", "location")
PROVIDER_PREFIX = "pulumi:providers:"


def package_of(type_token: str) -> str:
    """The provider package of a type token: `aws` for `aws:s3/bucket:Bucket` and for
    `pulumi:providers:aws`, `aws-native` for `aws-native:s3:Bucket`."""
    if type_token.startswith(PROVIDER_PREFIX):
        return type_token[len(PROVIDER_PREFIX) :]
    return type_token.split(":", 1)[0]


def is_default_provider(name: str) -> bool:
    """Pulumi names the providers it creates itself `default` or `default_6_0_0`."""
    return name == "default" or name.startswith("default_")


def _provider_urn(ref: str) -> str:
    # A provider reference is "<provider urn>::<provider id>".
    return ref.rsplit("::", 1)[0] if ref.count("::") > 3 else ref


def _provider_name(urn: str) -> str | None:
    parts = urn.split("::")
    return parts[3] if len(parts) >= 4 and parts[2].startswith(PROVIDER_PREFIX) else None


def _arn_partition(res: Resource) -> Any:
    if res.type in ARN_IS_DESTINATION:
        return None  # its `arn` is where it sends data, not where it lives
    arn = res.props.get("arn")
    if isinstance(arn, str):
        match = _ARN_REGION.match(arn)
        if match:
            return match.group(1)
    return None


def _arn_region(res: Resource) -> str | None:
    arn = None if res.type in ARN_IS_DESTINATION else res.props.get("arn")
    if isinstance(arn, str):
        match = _ARN_REGION.match(arn)
        if match and _REGION_SHAPE.match(match.group(2)):
            return match.group(2)
    # The legacy v6 bucket reports its region as an output.
    value = res.props.get("awsRegion") or res.props.get("bucketRegion")
    if isinstance(value, str) and _REGION_SHAPE.match(value):
        return value
    return None
