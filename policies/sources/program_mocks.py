"""What the AWS provider would answer, for a Pulumi program run under Pulumi's mock runtime.

Shared by `residency check --program` (whose child process, `program_runner.py`, installs these
mocks before running the user's program) and by the project's own infra tests (`infra/testing.py`).

This module runs inside the program's interpreter, which may be the program's own virtualenv: it
imports only the standard library and `pulumi` (never `policies`, `pulumi_aws` or boto3), so the
runner can load it by path, and it stays within Python 3.9 (the oldest Python Pulumi supports).

How values are decided:

- **Physical names** the program leaves out are generated as the provider's autonaming does
  (`<logical name>-<7 hex>`), with a suffix derived from the URN: random-looking, but the same on
  every run, so two runs of one program give the same stack.
- **Region** of a resource: its own `region` input, else its provider's `region`, else the stack
  config `aws:region` (the default provider). **Partition** follows the region (`aws-cn` for
  `cn-*`), and every ARN and endpoint is built in it (`amazonaws.com.cn` in China).
- **Account**: `aws:allowedAccountIds[0]` from the config when set, else the placeholder
  123456789012.
- **Data sources**: caller identity, partition, region, availability zones,
  `iam.getPolicyDocument` (built locally the way the provider's Go code builds it), AMI, VPC,
  subnet and Route 53 zone lookups are answered with plausible placeholders.
- **Fail closed**: the runtime runs as a preview, so any output the mocks do not model (and any
  value read from another stack) is unknown, never invented. A data source the mocks do not know
  is unknown too (its `_output` form; its plain form cannot be, so the program stops and the run
  names the data source).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import zlib
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

#: What the Pulumi engine prints for a value not known until apply.
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
PLACEHOLDER_ACCOUNT = "123456789012"
PROVIDER_PREFIX = "pulumi:providers:"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
DYNAMIC_RESOURCE = "pulumi-python:dynamic:Resource"

#: Availability zones of the regions programs name most; others get a, b, c.
_ZONES = {"cn-north-1": "abd", "cn-northwest-1": "abc", "us-east-1": "abcdef"}
#: Services whose ARNs carry no region.
_GLOBAL_SERVICES = frozenset(
    {"iam", "s3", "cloudfront", "route53", "waf", "organizations", "globalaccelerator"}
)
#: Python module names of pulumi-aws modules that are Python keywords or builtins.
_PY_MODULE = {"lambda": "lambda_", "index": ""}


# -- partition, region and naming -----------------------------------------------------------------


def partition_of(region: Any) -> str | None:
    if not isinstance(region, str) or not region:
        return None
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso"):
        return "aws-iso"
    return "aws"


def dns_suffix(partition: str) -> str:
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


def suffix(seed: str, length: int = 7) -> str:
    """A random-looking, deterministic hex suffix."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _is_unknown(value: Any) -> bool:
    return value == UNKNOWN_SENTINEL or type(value).__name__ == "Unknown"


def plain(value: Any, ids: dict[str, str] | None = None) -> Any:
    """A property value as plain JSON: numbers that are integers as ints, unknowns as the engine's
    sentinel, resource references downgraded to the referenced resource's id (as the AWS
    provider's Check does). Secrets keep the wire form (`value`); `exported` turns them into the
    stack export's (`plaintext`)."""
    if _is_unknown(value):
        return UNKNOWN_SENTINEL
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return {SIG_KEY: SECRET_SIG, "value": plain(value.get("value"), ids)}
        if sig == RESOURCE_SIG:
            urn = value.get("urn", "")
            found = (ids or {}).get(urn)
            return value.get("id") or found or urn
        return {k: plain(v, ids) for k, v in value.items()}
    if isinstance(value, (list, tuple)):  # noqa: UP038 - the child may run Python 3.9
        return [plain(v, ids) for v in value]
    if isinstance(value, pulumi.Resource):
        # A resource object whose id this path cannot read synchronously: unknown, never a guess.
        return UNKNOWN_SENTINEL
    if isinstance(value, (pulumi.Asset, pulumi.Archive)):  # noqa: UP038
        return _asset(value)
    return value


def exported(value: Any) -> Any:
    """A plain value as `pulumi stack export --show-secrets` writes it: secrets carry `plaintext`."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG and "value" in value:
            return {SIG_KEY: SECRET_SIG, "plaintext": json.dumps(exported(value["value"]))}
        return {k: exported(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exported(v) for v in value]
    return value


def _asset(value: Any) -> dict[str, Any]:
    """Assets and archives as the engine serializes them (path, text, uri or nested assets)."""
    is_archive = isinstance(value, pulumi.Archive)
    out: dict[str, Any] = {
        SIG_KEY: "0def7320c3a5731c473e5ecbe6d01bc7" if is_archive else "c44067f5952c0a294b673a41bacd8c17"
    }
    for attr in ("path", "text", "uri"):
        if isinstance(getattr(value, attr, None), str):
            out[attr] = getattr(value, attr)
            return out
    assets = getattr(value, "assets", None)
    if isinstance(assets, dict):
        out["assets"] = {k: _asset(v) for k, v in assets.items()}
    return out


def struct_to_plain(struct: Any, ids: dict[str, str] | None = None) -> dict[str, Any]:
    """A protobuf Struct of resource properties (as the SDK sends it) in stack-export form."""
    from google.protobuf import json_format

    raw = json_format.MessageToDict(struct) if struct is not None else {}
    value = plain(raw, ids)
    return value if isinstance(value, dict) else {}


def resource_class(type_token: str) -> type | None:
    """The SDK class of a type token, when the program already imported its module (never imports)."""
    parts = type_token.split(":")
    if len(parts) != 3:
        return None
    package = "pulumi_" + parts[0].replace("-", "_")
    module = parts[1].split("/")[0]
    module = _PY_MODULE.get(module, module)
    mod = sys.modules.get(f"{package}.{module}" if module else package)
    if mod is None and module:
        mod = sys.modules.get(f"{package}.{module}_")
    cls = getattr(mod, parts[2], None) if mod is not None else None
    return cls if isinstance(cls, type) else None


@dataclass(frozen=True)
class Schema:
    """What the SDK class says about a type: its input names and its property names."""

    inputs: frozenset[str] = frozenset()
    properties: frozenset[str] = frozenset()
    known: bool = False


_SCHEMAS: dict[str, Schema] = {}


def schema_of(type_token: str) -> Schema:
    if type_token in _SCHEMAS:
        return _SCHEMAS[type_token]
    cls = resource_class(type_token)
    schema = Schema()
    if cls is None:
        return schema  # not cached: the module may be imported later
    try:
        from pulumi import _types

        names = dict(_types.resource_pulumi_to_py_names(cls))
        py_to_pulumi = {py: pu for pu, py in names.items()}
        init = getattr(cls, "_internal_init", None)
        params = inspect.signature(init).parameters if init is not None else {}
        inputs = frozenset(
            py_to_pulumi.get(p, p) for p in params if p not in ("__self__", "resource_name", "opts")
        )
        schema = Schema(inputs=inputs, properties=frozenset(names), known=True)
    except (TypeError, ValueError):
        schema = Schema()
    _SCHEMAS[type_token] = schema
    return schema


#: The property the provider autonames, where it is not `name`, with how it transforms the name.
_AUTONAME = {
    "aws:s3/bucket:Bucket": ("bucket", 63, str.lower),
    "aws:s3/bucketV2:BucketV2": ("bucket", 63, str.lower),
    "aws:rds/instance:Instance": ("identifier", 63, str.lower),
    "aws:rds/cluster:Cluster": ("clusterIdentifier", 63, str.lower),
    "aws:rds/clusterInstance:ClusterInstance": ("identifier", 63, str.lower),
    "aws:docdb/cluster:Cluster": ("clusterIdentifier", 63, str.lower),
    "aws:neptune/cluster:Cluster": ("clusterIdentifier", 63, str.lower),
    "aws:elasticache/cluster:Cluster": ("clusterId", 50, str.lower),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId", 40, str.lower),
    "aws:rds/subnetGroup:SubnetGroup": ("name", 255, str.lower),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name", 255, str.lower),
    "aws:lb/loadBalancer:LoadBalancer": ("name", 32, None),
    "aws:lb/targetGroup:TargetGroup": ("name", 32, None),
    "aws:alb/loadBalancer:LoadBalancer": ("name", 32, None),
    "aws:alb/targetGroup:TargetGroup": ("name", 32, None),
    "aws:ecs/taskDefinition:TaskDefinition": ("family", 255, None),
}
#: Types whose `name` is not a physical name the provider generates.
_NOT_AUTONAMED = frozenset(
    {
        "aws:apigateway/stage:Stage",
        "aws:apigatewayv2/stage:Stage",
        "aws:kms/alias:Alias",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:ec2/vpc:Vpc",
    }
)
#: EC2-style id prefixes.
_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/instance:Instance": "i",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/keyPair:KeyPair": "key",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ec2/networkInterface:NetworkInterface": "eni",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/volume:Volume": "vol",
    "aws:ec2/networkAcl:NetworkAcl": "acl",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "sgrule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    "aws:ec2transitgateway/transitGateway:TransitGateway": "tgw",
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": "tgw-attach",
    "aws:ec2transitgateway/routeTable:RouteTable": "tgw-rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation": "rtbassoc",
    "aws:ec2/route:Route": "r",
}


# -- the answers ------------------------------------------------------------------------------------


@dataclass
class Registration:
    """One resource the program declared, in the shape of a stack export's resource."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    external: bool = False
    remote: bool = False
    #: Where the program declared it, as the engine records it: `project:///<path>#<line>`.
    source_position: str | None = None

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "urn": self.urn,
            "custom": self.custom,
            "type": self.type,
            "inputs": exported(self.inputs),
            "outputs": exported(self.outputs),
        }
        if self.custom and self.id:
            state["id"] = self.id
        if self.parent:
            state["parent"] = self.parent
        if self.provider:
            state["provider"] = self.provider
        if self.external:
            state["external"] = True
        if self.source_position:
            state["sourcePosition"] = self.source_position
        state["dependencies"] = self.dependencies
        state["propertyDependencies"] = self.property_dependencies
        return state


@dataclass
class AwsAnswers:
    """The values the AWS provider would report, decided from the stack config and the registrations."""

    config: dict[str, Any]
    stack: str = "stack"
    project: str = "project"
    #: The first preview of a new stack: nothing exists yet, so ids and computed outputs are unknown.
    first_preview: bool = False
    registrations: list[Registration] = field(default_factory=list)
    #: Data sources the mocks could not answer (token -> count), for the run's notices.
    unanswered: dict[str, int] = field(default_factory=dict)
    _provider_regions: dict[str, Any] = field(default_factory=dict)

    # config ------------------------------------------------------------------------------------

    def _config(self, key: str) -> Any:
        value = self.config.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value) if value[:1] in "[{" else value
            except ValueError:
                return value
        return value

    @property
    def config_region(self) -> Any:
        region = self._config("aws:region")
        return region if isinstance(region, str) and region and region != UNKNOWN_SENTINEL else None

    @property
    def account_id(self) -> str:
        allowed = self._config("aws:allowedAccountIds")
        if isinstance(allowed, list) and allowed and isinstance(allowed[0], str):
            return allowed[0]
        return PLACEHOLDER_ACCOUNT

    def region_for(self, inputs: dict[str, Any], provider_ref: str | None) -> Any:
        """The resource's own region input, its provider's region, or the stack config's; None when
        it is not known (an unknown input, an explicit provider without a region)."""
        own = inputs.get("region")
        if own == UNKNOWN_SENTINEL:
            return None
        if isinstance(own, str) and own:
            return own
        if provider_ref:
            urn = provider_ref.rsplit("::", 1)[0]
            if urn in self._provider_regions:
                return self._provider_regions[urn]
            name = urn.rsplit("::", 1)[-1]
            if not (name == "default" or name.startswith("default_")):
                return None
        return self.config_region

    # resources ---------------------------------------------------------------------------------

    def resource(
        self,
        typ: str,
        name: str,
        inputs: dict[str, Any],
        *,
        provider_ref: str | None = None,
        custom: bool = True,
        urn: str = "",
        resource_id: str | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """(id, outputs) as the provider would report them; outputs echo the inputs."""
        urn = urn or f"urn:pulumi:{self.stack}::{self.project}::{typ}::{name}"
        out = {k: v for k, v in inputs.items() if k != "__provider"}
        if not custom:
            return "", out
        if typ.startswith(PROVIDER_PREFIX):
            region = inputs.get("region")
            if typ == PROVIDER_PREFIX + "aws":
                known = isinstance(region, str) and region and region != UNKNOWN_SENTINEL
                self._provider_regions[urn] = region if known else None
            return suffix(urn, 8) + "-0000-4000-8000-" + suffix(urn + "#", 12), out
        if typ == STACK_REFERENCE:
            # Another stack's outputs need its backend: unknown, whatever the program does with them.
            return resource_id or str(inputs.get("name") or name), {
                "name": inputs.get("name") or name,
                "outputs": UNKNOWN_SENTINEL,
                "secretOutputNames": [],
            }
        if self.first_preview:
            return "", out
        if typ == DYNAMIC_RESOURCE or not typ.startswith("aws:"):
            # A dynamic provider or another package's resource: only what the program gave is known.
            return resource_id or f"{name}-{suffix(urn)}", out
        region = self.region_for(inputs, provider_ref)
        partition = partition_of(region)
        schema = schema_of(typ)
        physical = self._physical_name(typ, name, inputs, urn, schema, out)
        if region is not None and "region" in schema.properties and "region" not in out:
            out["region"] = region
        if resource_id:
            ident = resource_id
        else:
            ident = self._id(typ, name, physical, inputs, urn, region, partition)
        self._outputs(typ, name, physical, ident, inputs, out, region, partition, urn, schema)
        # A value built from an unknown one (a name from another stack's output) is unknown too: an
        # ARN with the sentinel inside would read as a known, invented ARN.
        for key in [k for k, v in out.items() if k not in inputs and _built_from_unknown(v)]:
            del out[key]
        if ident == UNKNOWN_SENTINEL or _built_from_unknown(ident):
            return "", out
        # Bridged providers report the id among the outputs too; other resources find this one by it.
        out.setdefault("id", ident)
        return ident, out

    def _physical_name(
        self, typ: str, name: str, inputs: dict[str, Any], urn: str, schema: Schema, out: dict[str, Any]
    ) -> Any:
        key, limit, transform = _AUTONAME.get(typ, ("name", 255, None))
        if key == "name" and (typ in _NOT_AUTONAMED or (schema.known and "name" not in schema.inputs)):
            return None
        if not schema.known and typ not in _AUTONAME:
            return inputs.get("name")
        given = inputs.get(key)
        if given is not None:
            return given
        prefix = inputs.get(f"{key}Prefix") if key != "name" else inputs.get("namePrefix")
        if isinstance(prefix, str):
            value = prefix + suffix(urn, 26)
        else:
            base = name if transform is None else transform(name)
            tail = suffix(urn)
            value = f"{base[: max(1, limit - len(tail) - 1)]}-{tail}"
        out[key] = value
        return value

    def _id(
        self,
        typ: str,
        name: str,
        physical: Any,
        inputs: dict[str, Any],
        urn: str,
        region: Any,
        partition: Any,
    ) -> str:
        prefix = _ID_PREFIX.get(typ)
        if prefix:
            return f"{prefix}-{suffix(urn, 17)}"
        if typ == "aws:kms/key:Key":
            h = suffix(urn, 32)
            return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"
        if typ in ("aws:apigateway/restApi:RestApi", "aws:apigatewayv2/api:Api"):
            return suffix(urn, 10)
        if typ == "aws:iam/rolePolicy:RolePolicy":
            return f"{plain_str(inputs.get('role'))}:{physical}"
        if typ in ("aws:sns/topic:Topic", "aws:iam/policy:Policy") and partition:
            return self._arn(typ, name, physical, "", inputs, region, partition) or f"{name}-{suffix(urn)}"
        if typ == "aws:sqs/queue:Queue" and partition and isinstance(region, str):
            return f"https://sqs.{region}.{dns_suffix(partition)}/{self.account_id}/{physical}"
        if isinstance(physical, str) and physical:
            return physical
        return f"{name}-{suffix(urn)}"

    def _arn(
        self,
        typ: str,
        name: str,
        physical: Any,
        ident: str,
        inputs: dict[str, Any],
        region: Any,
        partition: Any,
    ) -> Any:
        """The ARN as AWS builds it for the type, or None when the type's ARN shape is not modelled."""
        if not partition:
            return None
        account = self.account_id
        p, r, a = partition, region or "", account
        n = physical if isinstance(physical, str) and physical else ident
        path = inputs.get("path") if isinstance(inputs.get("path"), str) else "/"
        service, _, kind = typ.split(":")[1].partition("/")
        arns = {
            "aws:s3/bucket:Bucket": f"arn:{p}:s3:::{n}",
            "aws:s3/bucketV2:BucketV2": f"arn:{p}:s3:::{n}",
            "aws:kms/key:Key": f"arn:{p}:kms:{r}:{a}:key/{ident}",
            "aws:kms/alias:Alias": f"arn:{p}:kms:{r}:{a}:{inputs.get('name')}",
            "aws:dynamodb/table:Table": f"arn:{p}:dynamodb:{r}:{a}:table/{n}",
            "aws:iam/role:Role": f"arn:{p}:iam::{a}:role{path}{n}",
            "aws:iam/user:User": f"arn:{p}:iam::{a}:user{path}{n}",
            "aws:iam/group:Group": f"arn:{p}:iam::{a}:group{path}{n}",
            "aws:iam/policy:Policy": f"arn:{p}:iam::{a}:policy{path}{n}",
            "aws:iam/instanceProfile:InstanceProfile": f"arn:{p}:iam::{a}:instance-profile{path}{n}",
            "aws:lambda/function:Function": f"arn:{p}:lambda:{r}:{a}:function:{n}",
            "aws:sqs/queue:Queue": f"arn:{p}:sqs:{r}:{a}:{n}",
            "aws:sns/topic:Topic": f"arn:{p}:sns:{r}:{a}:{n}",
            "aws:cloudtrail/trail:Trail": f"arn:{p}:cloudtrail:{r}:{a}:trail/{n}",
            "aws:cloudwatch/logGroup:LogGroup": f"arn:{p}:logs:{r}:{a}:log-group:{n}",
            "aws:rds/instance:Instance": f"arn:{p}:rds:{r}:{a}:db:{n}",
            "aws:rds/cluster:Cluster": f"arn:{p}:rds:{r}:{a}:cluster:{n}",
            "aws:rds/subnetGroup:SubnetGroup": f"arn:{p}:rds:{r}:{a}:subgrp:{n}",
            "aws:elasticache/cluster:Cluster": f"arn:{p}:elasticache:{r}:{a}:cluster:{n}",
            "aws:elasticache/replicationGroup:ReplicationGroup": f"arn:{p}:elasticache:{r}:{a}:replicationgroup:{n}",
            "aws:ecr/repository:Repository": f"arn:{p}:ecr:{r}:{a}:repository/{n}",
            "aws:ecs/cluster:Cluster": f"arn:{p}:ecs:{r}:{a}:cluster/{n}",
            "aws:ecs/taskDefinition:TaskDefinition": f"arn:{p}:ecs:{r}:{a}:task-definition/{n}:1",
            "aws:lb/loadBalancer:LoadBalancer": f"arn:{p}:elasticloadbalancing:{r}:{a}:loadbalancer/app/{n}/{suffix(ident, 16)}",
            "aws:lb/targetGroup:TargetGroup": f"arn:{p}:elasticloadbalancing:{r}:{a}:targetgroup/{n}/{suffix(ident, 16)}",
            "aws:apigateway/restApi:RestApi": f"arn:{p}:apigateway:{r}::/restapis/{ident}",
            "aws:apigatewayv2/api:Api": f"arn:{p}:apigateway:{r}::/apis/{ident}",
            "aws:ssm/parameter:Parameter": f"arn:{p}:ssm:{r}:{a}:parameter/{str(n).lstrip('/')}",
            "aws:secretsmanager/secret:Secret": f"arn:{p}:secretsmanager:{r}:{a}:secret:{n}-{suffix(ident, 6)}",
            "aws:kinesis/stream:Stream": f"arn:{p}:kinesis:{r}:{a}:stream/{n}",
            "aws:sfn/stateMachine:StateMachine": f"arn:{p}:states:{r}:{a}:stateMachine:{n}",
            "aws:ecs/service:Service": f"arn:{p}:ecs:{r}:{a}:service/{n}",
            "aws:efs/fileSystem:FileSystem": f"arn:{p}:elasticfilesystem:{r}:{a}:file-system/{ident}",
            "aws:cloudwatch/eventBus:EventBus": f"arn:{p}:events:{r}:{a}:event-bus/{n}",
            "aws:cloudwatch/eventRule:EventRule": f"arn:{p}:events:{r}:{a}:rule/{n}",
            "aws:glue/catalogDatabase:CatalogDatabase": f"arn:{p}:glue:{r}:{a}:database/{n}",
            "aws:athena/workgroup:Workgroup": f"arn:{p}:athena:{r}:{a}:workgroup/{n}",
        }
        if typ in arns:
            return arns[typ]
        if service == "ec2" and typ in _ID_PREFIX:
            return f"arn:{p}:ec2:{r}:{a}:{kind.lower()}/{ident}"
        # Any other type: the ARN's partition, region and account are certain; its resource part
        # follows the common `<type>/<name>` shape (rules read the partition and region from it).
        region_part = "" if service in _GLOBAL_SERVICES else r
        return f"arn:{p}:{service}:{region_part}:{a}:{kind.lower()}/{n}"

    def _outputs(
        self,
        typ: str,
        name: str,
        physical: Any,
        ident: str,
        inputs: dict[str, Any],
        out: dict[str, Any],
        region: Any,
        partition: Any,
        urn: str,
        schema: Schema,
    ) -> None:
        """Computed outputs of the common types; any other output stays unknown (fail closed)."""
        props = schema.properties if schema.known else frozenset({"arn"})
        if "arn" in props and "arn" not in out:
            arn = self._arn(typ, name, physical, ident, inputs, region, partition)
            if arn is not None:
                out["arn"] = arn
        if not partition:
            return
        dns = dns_suffix(partition)
        a = self.account_id
        if "tagsAll" in props and "tagsAll" not in out and isinstance(inputs.get("tags", {}), dict):
            # Provider default tags are the provider's inputs: left to the stack, which joins them.
            out["tagsAll"] = dict(inputs.get("tags") or {})
        if typ in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):
            out.setdefault("bucketDomainName", f"{physical}.s3.{dns}")
            out.setdefault("bucketRegionalDomainName", f"{physical}.s3.{region}.{dns}")
            if "bucketRegion" in props:
                out.setdefault("bucketRegion", region)
        elif typ == "aws:kms/key:Key":
            out.setdefault("keyId", ident)
        elif typ == "aws:kms/alias:Alias":
            target = inputs.get("targetKeyId")
            if isinstance(target, str) and target.startswith("arn:"):
                out.setdefault("targetKeyArn", target)
        elif typ == "aws:iam/role:Role":
            out.setdefault("uniqueId", "AROA" + suffix(urn, 17).upper())
        elif typ == "aws:lambda/function:Function":
            arn = out.get("arn")
            out.setdefault(
                "invokeArn",
                f"arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
            )
            out.setdefault("qualifiedArn", f"{arn}:$LATEST")
            out.setdefault("version", "$LATEST")
        elif typ == "aws:sqs/queue:Queue":
            out.setdefault("url", ident)
        elif typ == "aws:ecr/repository:Repository":
            out.setdefault("registryId", a)
            out.setdefault("repositoryUrl", f"{a}.dkr.ecr.{region}.{dns}/{physical}")
        elif typ == "aws:ecs/taskDefinition:TaskDefinition":
            out.setdefault("revision", 1)
        elif typ in ("aws:apigateway/restApi:RestApi", "aws:apigatewayv2/api:Api"):
            out.setdefault("executionArn", f"arn:{partition}:execute-api:{region}:{a}:{ident}")
            if typ == "aws:apigateway/restApi:RestApi":
                out.setdefault("rootResourceId", suffix(urn + "/", 10))
            else:
                out.setdefault("apiEndpoint", f"https://{ident}.execute-api.{region}.{dns}")
        elif typ == "aws:apigateway/stage:Stage":
            api = plain_str(inputs.get("restApi"))
            stage = inputs.get("stageName")
            out.setdefault("executionArn", f"arn:{partition}:execute-api:{region}:{a}:{api}/{stage}")
            out.setdefault("invokeUrl", f"https://{api}.execute-api.{region}.{dns}/{stage}")
        elif typ == "aws:rds/instance:Instance":
            out.setdefault("address", f"{physical}.{suffix(urn, 12)}.{region}.rds.{dns}")
            out.setdefault("endpoint", f"{out['address']}:{inputs.get('port') or 3306}")
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            out.setdefault("dnsName", f"{physical}-{suffix(urn, 10)}.{region}.elb.{dns}")
        elif typ == "aws:ec2/vpc:Vpc":
            out.setdefault("defaultSecurityGroupId", f"sg-{suffix(urn + 'sg', 17)}")
            out.setdefault("mainRouteTableId", f"rtb-{suffix(urn + 'rtb', 17)}")
            out.setdefault("defaultRouteTableId", out["mainRouteTableId"])
        elif typ == "aws:ec2/subnet:Subnet" and "availabilityZone" not in out and isinstance(region, str):
            out["availabilityZone"] = f"{region}{_ZONES.get(region, 'abc')[0]}"

    # data sources --------------------------------------------------------------------------------

    def answers_call(self, token: str) -> bool:
        """Whether the mocks model this data source (others are unknown under the preview runtime)."""
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return True
        return token.startswith("aws:") and hasattr(self, "_call_" + token.rsplit(":", 1)[-1])

    def call(self, token: str, args: dict[str, Any], provider_ref: str | None = None) -> dict[str, Any]:
        region = self.region_for(args, provider_ref)
        partition = partition_of(region)
        account = self.account_id
        handler = getattr(self, "_call_" + token.rsplit(":", 1)[-1], None)
        if token.startswith("aws:") and handler is not None:
            answer = handler(args, region, partition, account)
            if partition is None:
                # Without a region the partition is unknown: no ARN or endpoint is built for it.
                answer = {k: v for k, v in answer.items() if not _partitioned(v)}
            return answer
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return policy_document(args, partition)
        self.unanswered[token] = self.unanswered.get(token, 0) + 1
        return {}

    def _call_getCallerIdentity(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        p = partition or "aws"
        return {
            "accountId": account,
            "arn": f"arn:{p}:iam::{account}:user/deployer",
            "userId": "AIDA" + suffix(account, 17).upper(),
            "id": account,
        }

    def _call_getPartition(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        p = partition or "aws"
        return {
            "partition": p,
            "dnsSuffix": dns_suffix(p),
            "reverseDnsPrefix": ".".join(reversed(dns_suffix(p).split("."))),
            "id": p,
        }

    def _call_getRegion(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        if region is None:
            return {}
        p = partition or "aws"
        return {
            "name": region,
            "region": region,
            "id": region,
            "endpoint": f"ec2.{region}.{dns_suffix(p)}",
            "description": region,
        }

    def _call_getAvailabilityZones(
        self, args: Any, region: Any, partition: Any, account: str
    ) -> dict[str, Any]:  # noqa: N802
        if region is None:
            return {}
        letters = _ZONES.get(region, "abc")
        names = [region + x for x in letters]
        short = "".join(w[0] for w in region.split("-")[:-1]) + region.rsplit("-", 1)[-1]
        return {
            "names": names,
            "zoneIds": [f"{short}-az{i + 1}" for i in range(len(names))],
            "groupNames": [region] * len(names),
            "id": region,
        }

    def _call_getAmi(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        ami = "ami-" + suffix(json.dumps(args, sort_keys=True, default=str), 17)
        owners = args.get("owners") or ["amazon"]
        arn = f"arn:{partition or 'aws'}:ec2:{region or ''}::image/{ami}"
        return {
            "id": ami,
            "imageId": ami,
            "arn": arn,
            "architecture": "x86_64",
            "name": "placeholder-ami",
            "ownerId": str(owners[0]),
            "rootDeviceName": "/dev/xvda",
            "rootDeviceType": "ebs",
            "virtualizationType": "hvm",
            "state": "available",
            "mostRecent": bool(args.get("mostRecent")),
        }

    def _call_getVpc(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        vpc = args.get("id") or "vpc-" + suffix(json.dumps(args, sort_keys=True, default=str), 17)
        return {
            "id": vpc,
            "arn": f"arn:{partition or 'aws'}:ec2:{region or ''}:{account}:vpc/{vpc}",
            "cidrBlock": "172.31.0.0/16",
            "default": bool(args.get("default")),
            "ownerId": account,
            "mainRouteTableId": "rtb-" + suffix(vpc, 17),
            "state": "available",
        }

    def _call_getSubnets(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        seed = json.dumps(args, sort_keys=True, default=str)
        count = len(_ZONES.get(region or "", "abc"))
        return {
            "ids": ["subnet-" + suffix(f"{seed}{i}", 17) for i in range(count)],
            "id": region or "subnets",
        }

    def _call_getSubnet(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        subnet = args.get("id") or "subnet-" + suffix(json.dumps(args, sort_keys=True, default=str), 17)
        zone = f"{region}{_ZONES.get(region or '', 'abc')[0]}" if region else None
        return {
            "id": subnet,
            "arn": f"arn:{partition or 'aws'}:ec2:{region or ''}:{account}:subnet/{subnet}",
            "availabilityZone": zone,
            "cidrBlock": "172.31.0.0/20",
            "vpcId": "vpc-" + suffix(subnet, 17),
        }

    def _call_getZone(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        name = str(args.get("name") or "example.com").rstrip(".")
        zone = "Z" + suffix(name, 20).upper()
        return {
            "id": zone,
            "zoneId": zone,
            "name": name,
            "arn": f"arn:{partition or 'aws'}:route53:::hostedzone/{zone}",
            "privateZone": bool(args.get("privateZone")),
        }

    def _call_getSecurityGroup(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        group = args.get("id") or "sg-" + suffix(json.dumps(args, sort_keys=True, default=str), 17)
        return {
            "id": group,
            "arn": f"arn:{partition or 'aws'}:ec2:{region or ''}:{account}:security-group/{group}",
            "vpcId": args.get("vpcId") or "vpc-" + suffix(group, 17),
        }

    def _call_getCredentials(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        """ECR push credentials: a placeholder token in the registry's shape (`AWS:<password>`)."""
        import base64

        registry = str(args.get("registryId") or account)
        endpoint = f"https://{registry}.dkr.ecr.{region or 'us-east-1'}.{dns_suffix(partition or 'aws')}"
        token = base64.b64encode(b"AWS:mock-runtime-placeholder").decode()
        return {
            "authorizationToken": token,
            "proxyEndpoint": endpoint,
            "registryId": registry,
            "id": registry,
            "expiresAt": "2099-01-01T00:00:00Z",
        }

    def _call_getAuthorizationToken(
        self, args: Any, region: Any, partition: Any, account: str
    ) -> dict[str, Any]:  # noqa: N802
        creds = self._call_getCredentials(args, region, partition, account)
        return {**creds, "userName": "AWS", "password": "mock-runtime-placeholder"}

    def _call_getPolicy(self, args: Any, region: Any, partition: Any, account: str) -> dict[str, Any]:  # noqa: N802
        arn = args.get("arn")
        if not isinstance(arn, str):
            return {}
        return {"arn": arn, "id": arn, "name": arn.rsplit("/", 1)[-1]}


def _built_from_unknown(value: Any) -> bool:
    return isinstance(value, str) and UNKNOWN_SENTINEL in value and value != UNKNOWN_SENTINEL


def _partitioned(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith("arn:") or "amazonaws.com" in value)


def plain_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


# -- iam.getPolicyDocument, as the provider builds it ----------------------------------------------


def _string_set(values: Any) -> list[str]:
    """The provider reads a set of strings and sorts it in reverse (policyDecodeConfigStringList)."""
    items = [v for v in (values or []) if isinstance(v, str)]
    return sorted(set(items), reverse=True)


def _one_or_list(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else values


def _principals(blocks: Any) -> Any:
    merged: dict[str, list[str]] = {}
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        ids = _string_set(block.get("identifiers"))
        if kind == "*" and ids == ["*"]:
            return "*"
        if isinstance(kind, str):
            merged.setdefault(kind, []).extend(ids)
    return {k: _one_or_list(sorted(set(v), reverse=True)) for k, v in sorted(merged.items())}


def _conditions(blocks: Any) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {}
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        test, variable = block.get("test"), block.get("variable")
        if isinstance(test, str) and isinstance(variable, str):
            out.setdefault(test, {})[variable] = _one_or_list(_string_set(block.get("values")))
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def _statement(raw: dict[str, Any]) -> dict[str, Any]:
    stmt: dict[str, Any] = {}
    if raw.get("sid"):
        stmt["Sid"] = raw["sid"]
    stmt["Effect"] = raw.get("effect") or "Allow"
    for key, field_name in (
        ("actions", "Action"),
        ("notActions", "NotAction"),
        ("resources", "Resource"),
        ("notResources", "NotResource"),
    ):
        values = _string_set(raw.get(key))
        if values:
            stmt[field_name] = _one_or_list(values)
    for key, field_name in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        if raw.get(key):
            stmt[field_name] = _principals(raw[key])
    if raw.get("conditions"):
        stmt["Condition"] = _conditions(raw["conditions"])
    return stmt


def _go_json(value: Any, indent: bool) -> str:
    """JSON as Go's encoding/json writes it: HTML characters escaped, two-space indent."""
    text = json.dumps(
        value, indent=2 if indent else None, separators=None if indent else (",", ":"), ensure_ascii=False
    )
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def policy_document(args: dict[str, Any], partition: Any = None) -> dict[str, Any]:
    """`aws.iam.getPolicyDocument`: source documents first, then the statements, then the override
    documents; a statement with the same Sid replaces the earlier one (as the provider merges)."""
    statements: list[dict[str, Any]] = []

    def merge(stmts: list[dict[str, Any]]) -> None:
        for stmt in stmts:
            sid = stmt.get("Sid")
            for i, existing in enumerate(statements):
                if sid and existing.get("Sid") == sid:
                    statements[i] = stmt
                    break
            else:
                statements.append(stmt)

    doc: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    for source in args.get("sourcePolicyDocuments") or []:
        parsed = _parse_document(source)
        if parsed is None:
            return {}
        merge(parsed)
    merge([_statement(s) for s in args.get("statements") or [] if isinstance(s, dict)])
    for override in args.get("overridePolicyDocuments") or []:
        parsed = _parse_document(override)
        if parsed is None:
            return {}
        merge(parsed)
    if args.get("policyId"):
        doc = {"Version": doc["Version"], "Id": args["policyId"]}
    doc["Statement"] = statements
    text = _go_json(doc, indent=True)
    return {"json": text, "minifiedJson": _go_json(doc, indent=False), "id": str(zlib.crc32(text.encode()))}


def _parse_document(text: Any) -> list[dict[str, Any]] | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    stmts = parsed.get("Statement") if isinstance(parsed, dict) else None
    if isinstance(stmts, dict):
        stmts = [stmts]
    return [s for s in stmts or [] if isinstance(s, dict)]


# -- the mock runtime ------------------------------------------------------------------------------


class AwsMocks(Mocks):
    """Pulumi `Mocks` answering from `AwsAnswers` (for callers that use the stock monitor)."""

    def __init__(self, answers: AwsAnswers) -> None:
        self.answers = answers

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = plain(dict(args.inputs))
        return self.answers.resource(
            args.typ,
            args.name,
            inputs,
            provider_ref=args.provider,
            custom=bool(args.custom if args.custom is not None else True),
            resource_id=args.resource_id or None,
        )

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        return self.answers.call(args.token, plain(dict(args.args)), args.provider)


class CapturingMonitor(MockMonitor):
    """The mock monitor, answering from `AwsAnswers` and recording every registration in
    stack-export form (parent, provider, inputs, outputs, dependencies, property dependencies).

    A resource without a provider gets Pulumi's default provider for its package (registered once,
    with the package's config as inputs), as the engine does; when the config disables the
    default provider for the package, the registration fails as `pulumi up` would.
    """

    def __init__(self, answers: AwsAnswers) -> None:
        super().__init__(AwsMocks(answers))
        self.answers = answers
        self.ids: dict[str, str] = {}
        self._defaults: dict[str, str] = {}
        #: URNs of the components that called register_outputs.
        self.outputs_registered: set[str] = set()
        #: The Pulumi project's folder: source positions inside it are recorded relative to it.
        self.project_root: str | None = None

    @property
    def registrations(self) -> list[Registration]:
        return self.answers.registrations

    def _default_provider(self, type_token: str, version: str) -> str | None:
        package = type_token.split(":", 1)[0]
        if package in ("pulumi", "pulumi-python", "pulumi-nodejs") or type_token.startswith(PROVIDER_PREFIX):
            return None
        disabled = self.answers._config("pulumi:disable-default-providers")
        if isinstance(disabled, list) and (package in disabled or "*" in disabled):
            raise Exception(  # noqa: TRY002 - the SDK reports any exception of the monitor as the program's error
                f"Default provider for '{package}' disabled. '{type_token}' must use an explicit provider."
            )
        key = f"{package}@{version}"
        if key not in self._defaults:
            name = "default_" + version.replace(".", "_").replace("-", "_") if version else "default"
            urn = (
                f"urn:pulumi:{self.answers.stack}::{self.answers.project}::{PROVIDER_PREFIX}{package}::{name}"
            )
            # The engine hands a default provider its package's config as strings (objects as JSON).
            inputs = {
                k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v)
                for k, v in self.answers.config.items()
                if k.startswith(package + ":")
            }
            if version:
                inputs["version"] = version
            ident, outputs = self.answers.resource(PROVIDER_PREFIX + package, name, inputs, urn=urn)
            self.registrations.append(
                Registration(
                    urn, PROVIDER_PREFIX + package, name, True, "", "", ident, inputs, outputs, [], {}
                )
            )
            self._defaults[key] = f"{urn}::{ident}"
        return self._defaults[key]

    def _register(self, request: Any, *, read: bool) -> tuple[str, str, dict[str, Any]]:
        from pulumi.runtime import rpc
        from pulumi.runtime.sync_await import _sync_await

        urn = self.make_urn(request.parent, request.type, request.name)
        custom = True if read else bool(request.custom)
        inputs = struct_to_plain(request.properties if read else request.object, self.ids)
        inputs.pop("__provider", None)
        provider = request.provider
        if custom and not provider and not request.type.startswith(PROVIDER_PREFIX):
            provider = self._default_provider(request.type, getattr(request, "version", "") or "") or ""
        ident, outputs = self.answers.resource(
            request.type,
            request.name,
            inputs,
            provider_ref=provider,
            custom=custom,
            urn=urn,
            resource_id=(request.id if read else request.importId) or None,
        )
        remote = bool(getattr(request, "remote", False))
        if remote:
            # A multi-language component (awsx, eks): its provider plugin would declare its children
            # and compute its outputs; without the plugin, every output is unknown.
            outputs = {}
        self.ids[urn] = ident
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, ident, outputs)
        deps = [] if read else list(request.dependencies)
        prop_deps = {} if read else {k: list(v.urns) for k, v in request.propertyDependencies.items()}
        self.registrations.append(
            Registration(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=custom,
                parent=request.parent,
                provider=provider,
                id=ident,
                inputs=inputs,
                outputs=outputs,
                dependencies=deps,
                property_dependencies=prop_deps,
                external=read,
                remote=remote,
                source_position=self._source_position(request),
            )
        )
        obj = _sync_await(rpc.serialize_properties(outputs, {}))
        return urn, ident, obj

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """A data source the mocks do not model answers "unknown", as the engine does for an invoke
        whose inputs are not known yet: its `_output` form stays unknown; its plain form cannot be
        unknown and fails (the runner names the data source)."""
        token = request.tok
        if token != "pulumi:pulumi:getResource" and not self.answers.answers_call(token):
            from pulumi.runtime.proto import resource_pb2

            self.answers.unanswered[token] = self.answers.unanswered.get(token, 0) + 1
            return resource_pb2.ResourceInvokeResponse(unknown=True)
        return super().Invoke(request)

    def _source_position(self, request: Any) -> str | None:
        """`project:///<path relative to the project>#<line>`, as the engine writes it in state."""
        if self.project_root is None:
            return None
        position = getattr(request, "sourcePosition", None)
        uri = getattr(position, "uri", "") if position is not None else ""
        if not uri.startswith("file://"):
            return None
        from pathlib import Path
        from urllib.parse import unquote, urlparse

        try:
            path = Path(unquote(urlparse(uri).path)).resolve()
            relative = path.relative_to(Path(self.project_root).resolve())
        except (OSError, ValueError):
            return None
        line = getattr(position, "line", 0)
        return f"project:///{relative.as_posix()}" + (f"#{line}" if line else "")

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        from pulumi.runtime.proto import resource_pb2

        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(
                urn=self.make_urn(request.parent, request.type, request.name)
            )
        from pulumi.runtime.sync_await import _ensure_event_loop

        _ensure_event_loop()
        urn, ident, obj = self._register(request, read=False)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=ident, object=obj)

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        from pulumi.runtime.proto import resource_pb2
        from pulumi.runtime.sync_await import _ensure_event_loop

        _ensure_event_loop()
        urn, _ident, obj = self._register(request, read=True)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=obj)

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self.outputs_registered.add(request.urn)
        return super().RegisterResourceOutputs(request)


def install(
    config: dict[str, Any],
    *,
    project: str,
    stack: str,
    preview: bool = True,
    secret_keys: list[str] | None = None,
    first_preview: bool = False,
) -> CapturingMonitor:
    """Point the Pulumi runtime at the AWS mocks with this config (before anything is declared).

    `preview=True` (what `residency check --program` uses) makes every output the mocks do not
    model unknown; config values are strings, objects as JSON, as the CLI hands them over.
    """
    answers = AwsAnswers(config=dict(config), stack=stack, project=project, first_preview=first_preview)
    monitor = CapturingMonitor(answers)
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    strings = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    pulumi.runtime.set_all_config(strings, secret_keys)
    return monitor
