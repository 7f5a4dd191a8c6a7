"""A live AWS account as a source: boto3 inventory -> the same `Stack` every other source yields.

`residency audit` lists what the account holds (S3 buckets with every setting the rules read, KMS
keys, IAM roles, users and policies, DynamoDB tables, CloudTrail trails, RDS instances and clusters,
CloudWatch log groups) and turns each into a `Resource` with its pulumi-aws v7 type token and the
property names of the pulumi-aws inputs, so the rules run unchanged. An S3 bucket's settings become
separate side resources (`BucketServerSideEncryptionConfiguration`, `BucketLogging`, ...) that
`Stack.build` joins to their bucket by name, exactly as it joins a program's.

boto3 is imported here only: the `residency check` path never loads it.

How it reads:

- one bounded thread pool for every call; listers run first, each returns the per-item reads it
  needs, which go into the same pool (the main thread schedules, no worker waits on another);
- botocore's adaptive retry mode plus our own backoff with jitter on throttling codes botocore
  does not retry itself;
- a read refused (AccessDenied and friends) or failing on one resource never aborts the audit: the
  setting becomes UNKNOWN (no rule can read it as compliant) and the resource carries a
  "could not read: ..." problem that the audit reports as a finding (fail closed);
- no credentials, an unreachable endpoint or a rejected identity: `InputError` (exit 2, one line).

Every call goes through `Inventory.call`, which counts it: the benchmark reports calls per bucket.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from policies.errors import InputError
from policies.model import UNKNOWN, Resource
from policies.settings import DEFAULT_ALLOWED_REGIONS, Settings
from policies.stack import Stack, partition_of

SOURCE = "live AWS account"
PROVIDER = "pulumi:providers:aws"
#: The project part of the URNs the live resources get: `urn:pulumi:live::aws-<account>::TYPE::NAME`.
URN_STACK = "live"

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
BUCKET_OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
IAM_ROLE = "aws:iam/role:Role"
IAM_USER = "aws:iam/user:User"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_USER_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
TRAIL = "aws:cloudtrail/trail:Trail"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

#: Every type the inventory produces (drift compares the state's resources of these types only).
INVENTORIED_TYPES = frozenset(
    {
        BUCKET,
        SSE,
        BUCKET_POLICY,
        PAB,
        BUCKET_ACL,
        BUCKET_LOGGING,
        BUCKET_LIFECYCLE,
        BUCKET_VERSIONING,
        BUCKET_REPLICATION,
        BUCKET_OBJECT_LOCK,
        KMS_KEY,
        KMS_ALIAS,
        IAM_ROLE,
        IAM_USER,
        IAM_POLICY,
        IAM_ROLE_POLICY,
        IAM_USER_POLICY,
        IAM_ROLE_ATTACHMENT,
        IAM_USER_ATTACHMENT,
        DYNAMODB_TABLE,
        TRAIL,
        RDS_INSTANCE,
        RDS_CLUSTER,
        RDS_PARAMETER_GROUP,
        RDS_CLUSTER_PARAMETER_GROUP,
        LOG_GROUP,
    }
)

#: Error codes that mean "this read was refused": reported per resource, never fatal.
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "403",
        "KMSInvalidStateException",
    }
)
#: Error codes that mean "slow down": retried with backoff on top of botocore's own retries.
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "RequestThrottled",
        "RequestThrottledException",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "503",
    }
)
#: Error codes that mean "the account or the credentials are not usable at all": exit 2.
FATAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "AuthFailure",
    }
)
#: "Not configured" answers of the S3 settings reads: the setting is absent, which rules judge.
_S3_ABSENT = frozenset(
    {
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchBucketPolicy",
        "NoSuchPublicAccessBlockConfiguration",
        "NoSuchLifecycleConfiguration",
        "ReplicationConfigurationNotFoundError",
        "ObjectLockConfigurationNotFoundError",
        "NoSuchTagSet",
        "NoSuchTagSetError",
        "NoSuchConfiguration",
    }
)
_GONE = frozenset(
    {
        "NoSuchBucket",
        "NoSuchEntity",
        "ResourceNotFoundException",
        "NotFoundException",
        "TrailNotFoundException",
    }
)


class _Absent(Exception):
    """A read answered "not configured" or "no longer there"."""


class _Unreadable(Exception):
    """A read was refused or failed for this resource only (the message says which call and why)."""


# --- boto3 shapes -> pulumi-aws property names ------------------------------------------------------

#: AWS member names whose pulumi-aws name is not just the first letter lowered.
_SPECIAL_NAMES = {
    "ID": "id",
    "URI": "uri",
    "SSEAlgorithm": "sseAlgorithm",
    "KMSMasterKeyID": "kmsMasterKeyId",
    "ReplicaKmsKeyID": "replicaKmsKeyId",
    "SSEKMSEncryptedObjects": "sseKmsEncryptedObjects",
    "DisplayName": "displayName",
}


def pulumi_name(name: str) -> str:
    """`TargetBucket` -> `targetBucket`, `KMSMasterKeyID` -> `kmsMasterKeyId`."""
    special = _SPECIAL_NAMES.get(name)
    if special is not None:
        return special
    return name[:1].lower() + name[1:]


def pulumi_shape(value: Any) -> Any:
    """An AWS API structure with pulumi-aws member names (nested objects and lists included)."""
    if isinstance(value, dict):
        return {pulumi_name(k): pulumi_shape(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [pulumi_shape(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _document_text(value: Any) -> Any:
    """A policy document as pulumi-aws holds it: JSON text. IAM returns URL-encoded text or a dict."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value.startswith("%7B"):
        return unquote(value)
    return value


def _tags(tag_list: Any, key: str = "Key", value: str = "Value") -> dict[str, Any]:
    if isinstance(tag_list, dict):
        return dict(tag_list)
    return {t[key]: t.get(value, "") for t in tag_list or () if isinstance(t, dict) and key in t}


# --- the inventory ---------------------------------------------------------------------------------


@dataclass
class ReadProblem:
    """A read refused or failed for one resource: reported as a fail-closed finding."""

    urn: str
    type: str
    name: str
    message: str


@dataclass
class Inventory:
    """What one audit read, and how: resources, problems, and the number of API calls made."""

    account: str = ""
    partition: str = "aws"
    regions: tuple[str, ...] = ()
    resources: list[Resource] = field(default_factory=list)
    problems: list[ReadProblem] = field(default_factory=list)
    calls: int = 0
    calls_by_operation: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    seconds: float = 0.0

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]


class _Reader:
    """Clients, the pool, the retry policy and the call counter of one audit."""

    def __init__(
        self,
        regions: Sequence[str],
        *,
        endpoint_url: str | None,
        max_workers: int,
        max_attempts: int,
        sleep: Callable[[float], None],
        session: Any = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.regions = tuple(regions)
        self.endpoint_url = endpoint_url
        self.session = session or boto3.session.Session()
        self.config = Config(
            retries={"mode": "adaptive", "max_attempts": max_attempts},
            max_pool_connections=max(10, max_workers),
            connect_timeout=5,
            read_timeout=30,
            user_agent_extra="residency-audit",
        )
        self.max_workers = max_workers
        self.max_attempts = max_attempts
        self.sleep = sleep
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.inventory = Inventory(regions=self.regions)

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self._clients[key] = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=self.config
                )
            return found

    def call(self, service: str, region: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One API call, counted, with backoff on throttling; raises _Absent, _Unreadable or InputError."""
        from botocore.exceptions import (
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            NoRegionError,
            PartialCredentialsError,
            ReadTimeoutError,
        )

        client = self.client(service, region)
        method = getattr(client, operation)
        api = f"{service}:{operation}"
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                self.inventory.calls += 1
                self.inventory.calls_by_operation[api] = self.inventory.calls_by_operation.get(api, 0) + 1
            try:
                return method(**kwargs)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code", ""))
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if code in THROTTLE_CODES or status == 429:
                    with self._lock:
                        self.inventory.throttled += 1
                    if attempt < self.max_attempts:
                        self.sleep(min(20.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0))
                        continue
                    raise _Unreadable(f"{api} was throttled {attempt} times ({code})") from None
                if code in FATAL_CODES:
                    raise InputError(
                        f"the credentials were rejected ({code}: {error.get('Message', '')}); "
                        "check AWS_PROFILE or the access keys",
                        source="residency audit",
                    ) from None
                if code in _S3_ABSENT or code in _GONE or status == 404:
                    raise _Absent(code) from None
                if code in DENIED_CODES or status == 403:
                    raise _Unreadable(f"{api} was denied ({code}); grant it to the audit role") from None
                raise _Unreadable(f"{api} failed ({code}: {error.get('Message', '')})") from None
            except (NoCredentialsError, PartialCredentialsError):
                raise InputError(
                    "no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                    source="residency audit",
                ) from None
            except NoRegionError:
                raise InputError("no region; pass --region", source="residency audit") from None
            except (EndpointConnectionError, ConnectTimeoutError) as exc:
                raise InputError(
                    f"cannot reach the AWS endpoint ({exc}); check --endpoint-url and the network",
                    source="residency audit",
                ) from None
            except ReadTimeoutError as exc:
                if attempt < self.max_attempts:
                    self.sleep(min(20.0, 0.2 * 2**attempt))
                    continue
                raise _Unreadable(f"{api} timed out ({exc})") from None

    def pages(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        token_in: str,
        token_out: str,
        **kwargs: Any,
    ) -> list[Any]:
        """Every item of a paginated list call, each page counted as one call."""
        items: list[Any] = []
        args = dict(kwargs)
        while True:
            answer = self.call(service, region, operation, **args)
            items.extend(answer.get(result_key) or ())
            token = answer.get(token_out)
            if not token or (token_out == "IsTruncated" and not answer.get("IsTruncated")):
                return items
            if token_out == "IsTruncated":
                args[token_in] = answer["Marker"]
            else:
                args[token_in] = token


Task = Callable[[], "Iterable[Task] | None"]


class Auditor:
    """Reads one account; `run()` returns the `Inventory`."""

    def __init__(self, reader: _Reader, progress: Any = None) -> None:
        self.r = reader
        self.progress = progress
        self._lock = threading.Lock()
        self._policy_docs: dict[str, Future[Any] | None] = {}
        self._parameter_groups: set[tuple[str, str, str]] = set()
        self._provider_regions: set[str] = set()

    # -- plumbing --------------------------------------------------------------------------------

    @property
    def inv(self) -> Inventory:
        return self.r.inventory

    def urn(self, type_token: str, name: str) -> str:
        return f"urn:pulumi:{URN_STACK}::aws-{self.inv.account}::{type_token}::{name}"

    def add(self, type_token: str, name: str, props: dict[str, Any], region: str | None) -> Resource:
        props = {k: v for k, v in props.items() if v is not None}
        if region is not None:
            props["region"] = region
        tags = props.get("tags")
        # A regional resource says its region itself (v7's `region` input); a global one (IAM) names
        # the provider of the first audited region, which says the partition it lives in.
        res = Resource(
            urn=self.urn(type_token, name),
            type=type_token,
            name=name,
            props=props,
            provider=self.provider_ref(self.r.regions[0]) if region is None else None,
            tags=dict(tags) if isinstance(tags, dict) else ({} if tags is None else UNKNOWN),
        )
        with self._lock:
            self.inv.resources.append(res)
        return res

    def provider_ref(self, region: str) -> str:
        with self._lock:
            self._provider_regions.add(region)
        return f"{self.urn(PROVIDER, f'live-{region}')}::{region}"

    def providers(self) -> list[Resource]:
        return [
            Resource(
                urn=self.urn(PROVIDER, f"live-{region}"),
                type=PROVIDER,
                name=f"live-{region}",
                props={"region": region},
            )
            for region in sorted(self._provider_regions)
        ]

    def problem(self, type_token: str, name: str, message: str) -> None:
        with self._lock:
            self.inv.problems.append(ReadProblem(self.urn(type_token, name), type_token, name, message))

    def read(
        self, type_token: str, name: str, service: str, region: str, operation: str, **kwargs: Any
    ) -> Any:
        """A settings read for one resource: the answer, None when not configured, UNKNOWN when refused."""
        try:
            return self.r.call(service, region, operation, **kwargs)
        except _Absent:
            return None
        except _Unreadable as exc:
            self.problem(type_token, name, f"could not read: {exc}")
            return UNKNOWN

    def run(self, tasks: Iterable[Task]) -> None:
        """Run tasks in the bounded pool; a task may return more tasks, which are scheduled in turn."""
        with ThreadPoolExecutor(max_workers=self.r.max_workers, thread_name_prefix="audit") as pool:
            pending: set[Future[Any]] = set()
            first_error: BaseException | None = None

            def submit(task: Task) -> None:
                pending.add(pool.submit(task))
                if self.progress is not None:
                    self.progress.total(1)

            for task in tasks:
                submit(task)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending.discard(future)
                    if self.progress is not None:
                        self.progress.advance()
                    try:
                        more = future.result()
                    except InputError as exc:
                        if first_error is None:
                            first_error = exc
                            for other in pending:
                                other.cancel()
                        continue
                    except CancelledError:
                        continue
                    except Exception as exc:  # noqa: BLE001 - one unreadable answer never aborts the audit
                        self.problem(
                            "aws:account",
                            "inventory",
                            f"could not read: an answer could not be understood ({type(exc).__name__}: {exc}); "
                            "some resources may be missing from this audit",
                        )
                        continue
                    if first_error is None:
                        for task in more or ():
                            submit(task)
            if first_error is not None:
                raise first_error

    # -- identity ---------------------------------------------------------------------------------

    def identify(self) -> None:
        region = self.r.regions[0]
        try:
            answer = self.r.call("sts", region, "get_caller_identity")
        except (_Absent, _Unreadable) as exc:
            raise InputError(f"cannot read the caller identity: {exc}", source="residency audit") from None
        self.inv.account = str(answer.get("Account", ""))
        arn = str(answer.get("Arn", ""))
        self.inv.partition = arn.split(":")[1] if arn.count(":") >= 2 else "aws"

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:{self.inv.partition}:{service}:{region}:{self.inv.account}:{resource}"

    # -- listers: each returns the per-item reads it needs --------------------------------------------

    def listers(self) -> list[Task]:
        tasks: list[Task] = [self.list_buckets, self.list_roles, self.list_users, self.list_local_policies]
        for region in self.r.regions:
            tasks += [
                lambda region=region: self.list_keys(region),
                lambda region=region: self.list_tables(region),
                lambda region=region: self.list_trails(region),
                lambda region=region: self.list_db_instances(region),
                lambda region=region: self.list_db_clusters(region),
                lambda region=region: self.list_log_groups(region),
            ]
        return tasks

    def listed(
        self,
        what: str,
        type_token: str,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        token_in: str,
        token_out: str,
        **kwargs: Any,
    ) -> list[Any]:
        try:
            return self.r.pages(service, region, operation, result_key, token_in, token_out, **kwargs)
        except _Absent:
            return []
        except _Unreadable as exc:
            self.problem(
                type_token, f"* ({what} in {region})", f"could not read: {exc}; none of them was checked"
            )
            return []

    # -- S3 ------------------------------------------------------------------------------------------

    def list_buckets(self) -> list[Task]:
        # ListBuckets is global to a partition: a bucket created in any region (in territory or not)
        # is listed, and located by its own read. One listing per partition the regions span.
        seen: set[str] = set()
        tasks: list[Task] = []
        for region in {partition_of(r): r for r in reversed(self.r.regions)}.values():
            buckets = self.listed(
                "S3 buckets",
                BUCKET,
                "s3",
                region,
                "list_buckets",
                "Buckets",
                "ContinuationToken",
                "ContinuationToken",
            )
            for entry in buckets:
                name = entry.get("Name")
                if name and name not in seen:
                    seen.add(name)
                    tasks.append(lambda name=name, region=region: self.bucket(name, region))
        return tasks

    def bucket(self, name: str, home: str) -> None:
        located = self.read(BUCKET, name, "s3", home, "get_bucket_location", Bucket=name)
        if located is UNKNOWN:
            region: Any = UNKNOWN
            client_region = home
        elif located is None:
            return  # deleted between the list and the read
        else:
            # us-east-1 answers None, eu-west-1 the legacy "EU".
            region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(
                located.get("LocationConstraint"), located.get("LocationConstraint")
            )
            # The bucket's own region when it is in the listing's partition (no redirect); else
            # the listing's endpoint, which is the one that answers for it.
            client_region = region if partition_of(region) == partition_of(home) else home
        arn = f"arn:{self.inv.partition}:s3:::{name}"

        def get(operation: str) -> Any:
            return self.read(BUCKET, name, "s3", client_region, operation, Bucket=name)

        tagging = get("get_bucket_tagging")
        encryption = get("get_bucket_encryption")
        policy = get("get_bucket_policy")
        pab = get("get_public_access_block")
        acl = get("get_bucket_acl")
        logging = get("get_bucket_logging")
        lifecycle = get("get_bucket_lifecycle_configuration")
        versioning = get("get_bucket_versioning")
        replication = get("get_bucket_replication")
        lock = get("get_object_lock_configuration")

        where = None if region is UNKNOWN else region
        lock_config = (lock or {}).get("ObjectLockConfiguration") if lock is not UNKNOWN else UNKNOWN
        props: dict[str, Any] = {
            "bucket": name,
            "id": name,
            "arn": arn,
            "bucketRegion": region,
            "tags": UNKNOWN if tagging is UNKNOWN else _tags((tagging or {}).get("TagSet")),
            "objectLockEnabled": (
                UNKNOWN
                if lock_config is UNKNOWN
                else bool(lock_config and lock_config.get("ObjectLockEnabled") == "Enabled")
            ),
        }
        bucket = self.add(BUCKET, name, props, where)
        if region is UNKNOWN:
            bucket.props["region"] = UNKNOWN

        def side(type_token: str, kind: str, values: dict[str, Any]) -> None:
            self.add(type_token, f"{name}-{kind}", {"bucket": name, **values}, where)

        if encryption is UNKNOWN:
            side(SSE, "sse", {"rules": UNKNOWN})
        elif encryption:
            rules = (encryption.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
            side(SSE, "sse", {"rules": pulumi_shape(rules)})
        if policy is UNKNOWN:
            side(BUCKET_POLICY, "policy", {"policy": UNKNOWN})
        elif policy and policy.get("Policy"):
            side(BUCKET_POLICY, "policy", {"policy": policy["Policy"]})
        if pab is UNKNOWN:
            side(PAB, "pab", dict.fromkeys(_PAB_KEYS, UNKNOWN))
        elif pab:
            side(PAB, "pab", pulumi_shape(pab.get("PublicAccessBlockConfiguration") or {}))
        if acl is UNKNOWN:
            side(BUCKET_ACL, "acl", {"accessControlPolicy": UNKNOWN})
        elif acl:
            side(
                BUCKET_ACL,
                "acl",
                {
                    "accessControlPolicy": pulumi_shape(
                        {"Grants": acl.get("Grants") or [], "Owner": acl.get("Owner")}
                    )
                },
            )
        if logging is UNKNOWN:
            side(BUCKET_LOGGING, "logging", {"targetBucket": UNKNOWN})
        elif logging and logging.get("LoggingEnabled"):
            enabled = logging["LoggingEnabled"]
            side(
                BUCKET_LOGGING,
                "logging",
                {
                    "targetBucket": enabled.get("TargetBucket"),
                    "targetPrefix": enabled.get("TargetPrefix", ""),
                },
            )
        if lifecycle is UNKNOWN:
            side(BUCKET_LIFECYCLE, "lifecycle", {"rules": UNKNOWN})
        elif lifecycle and lifecycle.get("Rules"):
            side(BUCKET_LIFECYCLE, "lifecycle", {"rules": pulumi_shape(lifecycle["Rules"])})
        if versioning is UNKNOWN:
            side(BUCKET_VERSIONING, "versioning", {"versioningConfiguration": UNKNOWN})
        elif versioning and versioning.get("Status"):
            config = {"status": versioning["Status"]}
            if versioning.get("MFADelete"):
                config["mfaDelete"] = versioning["MFADelete"]
            side(BUCKET_VERSIONING, "versioning", {"versioningConfiguration": config})
        if replication is UNKNOWN:
            side(BUCKET_REPLICATION, "replication", {"rules": UNKNOWN})
        elif replication and replication.get("ReplicationConfiguration"):
            side(BUCKET_REPLICATION, "replication", pulumi_shape(replication["ReplicationConfiguration"]))
        if lock_config is UNKNOWN:
            side(BUCKET_OBJECT_LOCK, "lock", {"objectLockEnabled": UNKNOWN, "rule": UNKNOWN})
        elif lock_config and lock_config.get("Rule"):
            side(BUCKET_OBJECT_LOCK, "lock", pulumi_shape(lock_config))

    # -- KMS -----------------------------------------------------------------------------------------

    def list_keys(self, region: str) -> list[Task]:
        keys = self.listed("KMS keys", KMS_KEY, "kms", region, "list_keys", "Keys", "Marker", "NextMarker")
        aliases = self.listed(
            "KMS aliases", KMS_ALIAS, "kms", region, "list_aliases", "Aliases", "Marker", "NextMarker"
        )
        for alias in aliases:
            name = alias.get("AliasName", "")
            if name.startswith("alias/aws/") or not alias.get("TargetKeyId"):
                continue  # AWS-managed keys' aliases
            self.add(
                KMS_ALIAS,
                name,
                {
                    "name": name,
                    "arn": alias.get("AliasArn"),
                    "targetKeyId": alias["TargetKeyId"],
                    "targetKeyArn": self.arn("kms", region, f"key/{alias['TargetKeyId']}"),
                },
                region,
            )
        return [lambda k=k["KeyId"]: self.key(region, k) for k in keys if "KeyId" in k]

    def key(self, region: str, key_id: str) -> None:
        described = self.read(KMS_KEY, key_id, "kms", region, "describe_key", KeyId=key_id)
        if described is None:
            return
        meta = {} if described is UNKNOWN else described.get("KeyMetadata") or {}
        if meta.get("KeyManager") == "AWS" or meta.get("KeyState") in (
            "PendingDeletion",
            "PendingReplicaDeletion",
        ):
            return  # AWS-managed keys are configured by AWS; keys being deleted hold nothing new
        symmetric = meta.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
        rotation: Any = False
        if symmetric and meta.get("Origin", "AWS_KMS") == "AWS_KMS" and described is not UNKNOWN:
            answer = self.read(KMS_KEY, key_id, "kms", region, "get_key_rotation_status", KeyId=key_id)
            rotation = UNKNOWN if answer is UNKNOWN else bool((answer or {}).get("KeyRotationEnabled"))
        elif described is UNKNOWN:
            rotation = UNKNOWN
        policy = self.read(
            KMS_KEY, key_id, "kms", region, "get_key_policy", KeyId=key_id, PolicyName="default"
        )
        tags = self.read(KMS_KEY, key_id, "kms", region, "list_resource_tags", KeyId=key_id)
        self.add(
            KMS_KEY,
            key_id,
            {
                "keyId": key_id,
                "arn": meta.get("Arn") or self.arn("kms", region, f"key/{key_id}"),
                "description": meta.get("Description"),
                "keyUsage": meta.get("KeyUsage"),
                "customerMasterKeySpec": meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
                "customKeyStoreId": meta.get("CustomKeyStoreId"),
                "multiRegion": meta.get("MultiRegion"),
                "isEnabled": None if described is UNKNOWN else meta.get("Enabled"),
                "enableKeyRotation": rotation,
                "policy": UNKNOWN if policy is UNKNOWN else (policy or {}).get("Policy"),
                "tags": UNKNOWN if tags is UNKNOWN else _tags((tags or {}).get("Tags"), "TagKey", "TagValue"),
            },
            region,
        )

    # -- IAM (global: no region) --------------------------------------------------------------------

    def list_roles(self) -> list[Task]:
        roles = self.listed(
            "IAM roles", IAM_ROLE, "iam", self.r.regions[0], "list_roles", "Roles", "Marker", "IsTruncated"
        )
        return [lambda role=role: self.principal("role", role) for role in roles]

    def list_users(self) -> list[Task]:
        users = self.listed(
            "IAM users", IAM_USER, "iam", self.r.regions[0], "list_users", "Users", "Marker", "IsTruncated"
        )
        return [lambda user=user: self.principal("user", user) for user in users]

    def principal(self, kind: str, entry: dict[str, Any]) -> None:
        home = self.r.regions[0]
        name = entry[f"{kind.capitalize()}Name"]
        type_token = IAM_ROLE if kind == "role" else IAM_USER
        cap = kind.capitalize()
        key = {f"{cap}Name": name}
        tags = self.read(type_token, name, "iam", home, f"list_{kind}_tags", **key)
        props: dict[str, Any] = {
            "name": name,
            "arn": entry.get("Arn"),
            "path": entry.get("Path"),
            "tags": UNKNOWN if tags is UNKNOWN else _tags((tags or {}).get("Tags")),
        }
        if kind == "role":
            props["assumeRolePolicy"] = _document_text(entry.get("AssumeRolePolicyDocument"))
            props["maxSessionDuration"] = entry.get("MaxSessionDuration")
        self.add(type_token, name, props, None)
        inline_type = IAM_ROLE_POLICY if kind == "role" else IAM_USER_POLICY
        attach_type = IAM_ROLE_ATTACHMENT if kind == "role" else IAM_USER_ATTACHMENT
        listed = self.read(type_token, name, "iam", home, f"list_{kind}_policies", **key)
        if listed is UNKNOWN:
            self.add(inline_type, f"{name}:*", {kind: name, "policy": UNKNOWN}, None)
        for policy_name in (listed or {}).get("PolicyNames") or ():
            doc = self.read(
                inline_type,
                f"{name}:{policy_name}",
                "iam",
                home,
                f"get_{kind}_policy",
                PolicyName=policy_name,
                **key,
            )
            self.add(
                inline_type,
                f"{name}:{policy_name}",
                {
                    kind: name,
                    "name": policy_name,
                    "policy": UNKNOWN
                    if doc is UNKNOWN
                    else _document_text((doc or {}).get("PolicyDocument")),
                },
                None,
            )
        attached = self.read(type_token, name, "iam", home, f"list_attached_{kind}_policies", **key)
        if attached is UNKNOWN:
            self.add(attach_type, f"{name}:*", {kind: name, "policyArn": UNKNOWN}, None)
        for policy in (attached or {}).get("AttachedPolicies") or ():
            arn = policy.get("PolicyArn")
            self.add(attach_type, f"{name}:{arn}", {kind: name, "policyArn": arn}, None)
            if isinstance(arn, str) and ":iam::aws:policy/" in arn:
                self.managed_document(arn)

    def managed_document(self, arn: str) -> None:
        """An AWS managed policy a principal attaches: its document, read once per audit."""
        with self._lock:
            if arn in self._policy_docs:
                return
            self._policy_docs[arn] = None
        home = self.r.regions[0]
        name = arn.rsplit("/", 1)[-1]
        described = self.read(IAM_POLICY, name, "iam", home, "get_policy", PolicyArn=arn)
        self.policy_resource(arn, name, described, managed_by_aws=True)

    def list_local_policies(self) -> list[Task]:
        policies = self.listed(
            "IAM policies",
            IAM_POLICY,
            "iam",
            self.r.regions[0],
            "list_policies",
            "Policies",
            "Marker",
            "IsTruncated",
            Scope="Local",
        )
        return [lambda p=p: self.policy_resource(p["Arn"], p["PolicyName"], {"Policy": p}) for p in policies]

    def policy_resource(self, arn: str, name: str, described: Any, *, managed_by_aws: bool = False) -> None:
        home = self.r.regions[0]
        if described is None:
            return
        meta = {} if described is UNKNOWN else described.get("Policy") or {}
        document: Any = UNKNOWN
        if described is not UNKNOWN:
            version = self.read(
                IAM_POLICY,
                name,
                "iam",
                home,
                "get_policy_version",
                PolicyArn=arn,
                VersionId=meta.get("DefaultVersionId", "v1"),
            )
            if version is not UNKNOWN:
                document = _document_text(((version or {}).get("PolicyVersion") or {}).get("Document"))
        self.add(
            IAM_POLICY,
            name if not managed_by_aws else f"aws-managed:{name}",
            {
                "name": name,
                "arn": arn,
                "path": meta.get("Path"),
                "policy": document,
                "tags": _tags(meta.get("Tags")),
                "awsManaged": managed_by_aws or None,
            },
            None,
        )

    # -- DynamoDB ------------------------------------------------------------------------------------

    def list_tables(self, region: str) -> list[Task]:
        names = self.listed(
            "DynamoDB tables",
            DYNAMODB_TABLE,
            "dynamodb",
            region,
            "list_tables",
            "TableNames",
            "ExclusiveStartTableName",
            "LastEvaluatedTableName",
        )
        return [lambda n=n: self.table(region, n) for n in names]

    def table(self, region: str, name: str) -> None:
        described = self.read(DYNAMODB_TABLE, name, "dynamodb", region, "describe_table", TableName=name)
        if described is None:
            return
        table = {} if described is UNKNOWN else described.get("Table") or {}
        arn = table.get("TableArn") or self.arn("dynamodb", region, f"table/{name}")
        ttl = self.read(DYNAMODB_TABLE, name, "dynamodb", region, "describe_time_to_live", TableName=name)
        backups = self.read(
            DYNAMODB_TABLE, name, "dynamodb", region, "describe_continuous_backups", TableName=name
        )
        tags = self.read(DYNAMODB_TABLE, name, "dynamodb", region, "list_tags_of_resource", ResourceArn=arn)
        sse = table.get("SSEDescription") or {}
        ttl_desc = {} if ttl in (None, UNKNOWN) else ttl.get("TimeToLiveDescription") or {}
        pitr = (
            {}
            if backups in (None, UNKNOWN)
            else (backups.get("ContinuousBackupsDescription") or {}).get("PointInTimeRecoveryDescription")
            or {}
        )
        key_schema = {k.get("KeyType"): k.get("AttributeName") for k in table.get("KeySchema") or ()}
        self.add(
            DYNAMODB_TABLE,
            name,
            {
                "name": name,
                "arn": arn,
                "hashKey": key_schema.get("HASH"),
                "rangeKey": key_schema.get("RANGE"),
                "billingMode": (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
                if table
                else None,
                "serverSideEncryption": UNKNOWN
                if described is UNKNOWN
                else {
                    # No SSEDescription: the AWS owned key (encrypted, but not with a customer key).
                    "enabled": sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING"),
                    "kmsKeyArn": sse.get("KMSMasterKeyArn"),
                },
                "replicas": UNKNOWN
                if described is UNKNOWN
                else [
                    {"regionName": r.get("RegionName"), "kmsKeyArn": r.get("KMSMasterKeyId")}
                    for r in table.get("Replicas") or ()
                ],
                "ttl": UNKNOWN
                if ttl is UNKNOWN
                else {
                    "enabled": ttl_desc.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"),
                    "attributeName": ttl_desc.get("AttributeName", ""),
                },
                "pointInTimeRecovery": UNKNOWN
                if backups is UNKNOWN
                else {"enabled": pitr.get("PointInTimeRecoveryStatus") == "ENABLED"},
                "streamEnabled": (table.get("StreamSpecification") or {}).get("StreamEnabled")
                if table
                else None,
                "deletionProtectionEnabled": table.get("DeletionProtectionEnabled") if table else None,
                "tags": UNKNOWN if tags is UNKNOWN else _tags((tags or {}).get("Tags")),
            },
            region,
        )

    # -- CloudTrail ----------------------------------------------------------------------------------

    def list_trails(self, region: str) -> list[Task]:
        try:
            answer = self.r.call("cloudtrail", region, "describe_trails", includeShadowTrails=False)
        except _Absent:
            return []
        except _Unreadable as exc:
            self.problem(TRAIL, f"* (trails in {region})", f"could not read: {exc}; none of them was checked")
            return []
        return [lambda t=t: self.trail(region, t) for t in answer.get("trailList") or ()]

    def trail(self, region: str, trail: dict[str, Any]) -> None:
        name = trail.get("Name", "")
        arn = trail.get("TrailARN") or self.arn("cloudtrail", region, f"trail/{name}")
        status = self.read(TRAIL, name, "cloudtrail", region, "get_trail_status", Name=arn)
        selectors = self.read(TRAIL, name, "cloudtrail", region, "get_event_selectors", TrailName=arn)
        tags = self.read(TRAIL, name, "cloudtrail", region, "list_tags", ResourceIdList=[arn])
        tag_list: Any = UNKNOWN
        if tags is not UNKNOWN:
            found = [t for t in (tags or {}).get("ResourceTagList") or () if t.get("ResourceId") == arn]
            tag_list = _tags(found[0].get("TagsList") if found else [])
        props: dict[str, Any] = {
            "name": name,
            "arn": arn,
            "s3BucketName": trail.get("S3BucketName"),
            "s3KeyPrefix": trail.get("S3KeyPrefix"),
            "kmsKeyId": trail.get("KmsKeyId"),
            "enableLogFileValidation": bool(trail.get("LogFileValidationEnabled")),
            "isMultiRegionTrail": bool(trail.get("IsMultiRegionTrail")),
            "includeGlobalServiceEvents": bool(trail.get("IncludeGlobalServiceEvents")),
            "isOrganizationTrail": bool(trail.get("IsOrganizationTrail")),
            "cloudWatchLogsGroupArn": trail.get("CloudWatchLogsLogGroupArn"),
            "enableLogging": UNKNOWN if status is UNKNOWN else bool((status or {}).get("IsLogging")),
            "tags": tag_list,
        }
        if selectors is UNKNOWN:
            props["eventSelectors"] = props["advancedEventSelectors"] = UNKNOWN
        else:
            props["eventSelectors"] = pulumi_shape((selectors or {}).get("EventSelectors") or [])
            advanced = (selectors or {}).get("AdvancedEventSelectors")
            if advanced:
                props["advancedEventSelectors"] = pulumi_shape(advanced)
        self.add(TRAIL, name, props, trail.get("HomeRegion") or region)

    # -- RDS -----------------------------------------------------------------------------------------

    def list_db_instances(self, region: str) -> list[Task]:
        instances = self.listed(
            "RDS instances",
            RDS_INSTANCE,
            "rds",
            region,
            "describe_db_instances",
            "DBInstances",
            "Marker",
            "Marker",
        )
        for db in instances:
            groups = [g.get("DBParameterGroupName") for g in db.get("DBParameterGroups") or ()]
            self.add(
                RDS_INSTANCE,
                db["DBInstanceIdentifier"],
                {
                    "identifier": db["DBInstanceIdentifier"],
                    "arn": db.get("DBInstanceArn"),
                    "engine": db.get("Engine"),
                    "engineVersion": db.get("EngineVersion"),
                    "instanceClass": db.get("DBInstanceClass"),
                    "storageEncrypted": bool(db.get("StorageEncrypted")),
                    "kmsKeyId": db.get("KmsKeyId"),
                    "parameterGroupName": groups[0] if groups else None,
                    "publiclyAccessible": db.get("PubliclyAccessible"),
                    "backupRetentionPeriod": db.get("BackupRetentionPeriod"),
                    "deletionProtection": db.get("DeletionProtection"),
                    "replicateSourceDb": db.get("ReadReplicaSourceDBInstanceIdentifier"),
                    "enabledCloudwatchLogsExports": db.get("EnabledCloudwatchLogsExports") or [],
                    "performanceInsightsEnabled": db.get("PerformanceInsightsEnabled"),
                    "performanceInsightsKmsKeyId": db.get("PerformanceInsightsKMSKeyId"),
                    "iamDatabaseAuthenticationEnabled": db.get("IAMDatabaseAuthenticationEnabled"),
                    "clusterIdentifier": db.get("DBClusterIdentifier"),
                    "tags": _tags(db.get("TagList")),
                },
                region,
            )
        return [
            lambda g=g: self.parameter_group(region, "instance", g)
            for g in self._new_groups(
                region,
                "instance",
                (
                    g.get("DBParameterGroupName")
                    for db in instances
                    for g in db.get("DBParameterGroups") or ()
                ),
            )
        ]

    def list_db_clusters(self, region: str) -> list[Task]:
        clusters = self.listed(
            "RDS clusters",
            RDS_CLUSTER,
            "rds",
            region,
            "describe_db_clusters",
            "DBClusters",
            "Marker",
            "Marker",
        )
        for db in clusters:
            self.add(
                RDS_CLUSTER,
                db["DBClusterIdentifier"],
                {
                    "clusterIdentifier": db["DBClusterIdentifier"],
                    "arn": db.get("DBClusterArn"),
                    "engine": db.get("Engine"),
                    "engineVersion": db.get("EngineVersion"),
                    "storageEncrypted": bool(db.get("StorageEncrypted")),
                    "kmsKeyId": db.get("KmsKeyId"),
                    "dbClusterParameterGroupName": db.get("DBClusterParameterGroup"),
                    "replicationSourceIdentifier": db.get("ReplicationSourceIdentifier"),
                    "enabledCloudwatchLogsExports": db.get("EnabledCloudwatchLogsExports") or [],
                    "performanceInsightsEnabled": db.get("PerformanceInsightsEnabled"),
                    "performanceInsightsKmsKeyId": db.get("PerformanceInsightsKMSKeyId"),
                    "backupRetentionPeriod": db.get("BackupRetentionPeriod"),
                    "deletionProtection": db.get("DeletionProtection"),
                    "tags": _tags(db.get("TagList")),
                },
                region,
            )
        return [
            lambda g=g: self.parameter_group(region, "cluster", g)
            for g in self._new_groups(
                region, "cluster", (db.get("DBClusterParameterGroup") for db in clusters)
            )
        ]

    def _new_groups(self, region: str, kind: str, names: Iterable[Any]) -> list[str]:
        fresh: list[str] = []
        with self._lock:
            for name in names:
                if isinstance(name, str) and name and (region, kind, name) not in self._parameter_groups:
                    self._parameter_groups.add((region, kind, name))
                    fresh.append(name)
        return fresh

    def parameter_group(self, region: str, kind: str, name: str) -> None:
        """A parameter group an instance or cluster uses, with the parameters set on it (TLS-002)."""
        type_token = RDS_PARAMETER_GROUP if kind == "instance" else RDS_CLUSTER_PARAMETER_GROUP
        if kind == "instance":
            groups = self.read(
                type_token, name, "rds", region, "describe_db_parameter_groups", DBParameterGroupName=name
            )
            family = (
                None
                if groups in (None, UNKNOWN)
                else (groups.get("DBParameterGroups") or [{}])[0].get("DBParameterGroupFamily")
            )
            params = self.read(
                type_token,
                name,
                "rds",
                region,
                "describe_db_parameters",
                DBParameterGroupName=name,
                Source="user",
            )
        else:
            groups = self.read(
                type_token,
                name,
                "rds",
                region,
                "describe_db_cluster_parameter_groups",
                DBClusterParameterGroupName=name,
            )
            family = (
                None
                if groups in (None, UNKNOWN)
                else (groups.get("DBClusterParameterGroups") or [{}])[0].get("DBParameterGroupFamily")
            )
            params = self.read(
                type_token,
                name,
                "rds",
                region,
                "describe_db_cluster_parameters",
                DBClusterParameterGroupName=name,
                Source="user",
            )
        self.add(
            type_token,
            name,
            {
                "name": name,
                "family": family,
                "parameters": UNKNOWN
                if params is UNKNOWN
                else [
                    {
                        "name": p.get("ParameterName"),
                        "value": p.get("ParameterValue"),
                        "applyMethod": p.get("ApplyMethod"),
                    }
                    for p in (params or {}).get("Parameters") or ()
                    if p.get("ParameterValue") is not None
                ],
            },
            region,
        )

    # -- CloudWatch Logs -------------------------------------------------------------------------------

    def list_log_groups(self, region: str) -> list[Task]:
        groups = self.listed(
            "log groups",
            LOG_GROUP,
            "logs",
            region,
            "describe_log_groups",
            "logGroups",
            "nextToken",
            "nextToken",
        )
        return [lambda g=g: self.log_group(region, g) for g in groups]

    def log_group(self, region: str, group: dict[str, Any]) -> None:
        name = group.get("logGroupName", "")
        arn = (group.get("arn") or self.arn("logs", region, f"log-group:{name}")).removesuffix(":*")
        tags = self.read(LOG_GROUP, name, "logs", region, "list_tags_log_group", logGroupName=name)
        self.add(
            LOG_GROUP,
            name,
            {
                "name": name,
                "arn": arn,
                "retentionInDays": group.get("retentionInDays", 0),
                "kmsKeyId": group.get("kmsKeyId"),
                "logGroupClass": group.get("logGroupClass"),
                "tags": UNKNOWN if tags is UNKNOWN else _tags((tags or {}).get("tags")),
            },
            region,
        )


_PAB_KEYS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


class _Progress:
    """A rich progress bar on stderr (only on a terminal): tasks done of tasks known so far."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("auditing the account"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self._task = self._bar.add_task("audit", total=0)
        self._lock = threading.Lock()

    def __enter__(self) -> _Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def total(self, more: int) -> None:
        with self._lock:
            task = self._bar.tasks[0]
            self._bar.update(self._task, total=(task.total or 0) + more)

    def advance(self) -> None:
        self._bar.advance(self._task)


def inventory(
    regions: Sequence[str] = (),
    *,
    endpoint_url: str | None = None,
    max_workers: int = 16,
    max_attempts: int = 8,
    progress: bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
    session: Any = None,
) -> Inventory:
    """Read the account. `regions` default to the territory; `progress` defaults to stderr being a TTY."""
    regions = tuple(dict.fromkeys(regions)) or DEFAULT_ALLOWED_REGIONS
    started = time.perf_counter()
    reader = _Reader(
        regions,
        endpoint_url=endpoint_url,
        max_workers=max_workers,
        max_attempts=max_attempts,
        sleep=sleep,
        session=session,
    )
    show = sys.stderr.isatty() if progress is None else progress
    if show:
        with _Progress() as bar:
            auditor = Auditor(reader, bar)
            auditor.identify()
            auditor.run(auditor.listers())
    else:
        auditor = Auditor(reader)
        auditor.identify()
        auditor.run(auditor.listers())
    inv = reader.inventory
    inv.resources.extend(auditor.providers())
    inv.partition = inv.partition or "aws"
    inv.resources.sort(key=lambda r: r.urn)
    inv.problems.sort(key=lambda p: (p.urn, p.message))
    inv.seconds = time.perf_counter() - started
    return inv


def stack_from_inventory(inv: Inventory, settings: Settings | None = None) -> Stack:
    source = f"{SOURCE} {inv.account} ({', '.join(inv.regions)})"
    return Stack.build(inv.resources, config={}, settings=settings, source=source)


def load_live_stack(
    regions: Sequence[str] = (),
    *,
    endpoint_url: str | None = None,
    settings: Settings | None = None,
    **kwargs: Any,
) -> tuple[Stack, Inventory]:
    """The account as a `Stack` (for the engine) and the `Inventory` (problems and call counts)."""
    inv = inventory(regions, endpoint_url=endpoint_url, **kwargs)
    return stack_from_inventory(inv, settings), inv


#: The IAM action each call of the inventory needs (controllers/deploy/iam-audit-policy.json grants
#: exactly these; a test checks both against the calls an audit makes).
IAM_ACTIONS: dict[str, str | None] = {
    "sts:get_caller_identity": None,  # needs no permission
    "s3:list_buckets": "s3:ListAllMyBuckets",
    "s3:get_bucket_location": "s3:GetBucketLocation",
    "s3:get_bucket_tagging": "s3:GetBucketTagging",
    "s3:get_bucket_encryption": "s3:GetEncryptionConfiguration",
    "s3:get_bucket_policy": "s3:GetBucketPolicy",
    "s3:get_public_access_block": "s3:GetBucketPublicAccessBlock",
    "s3:get_bucket_acl": "s3:GetBucketAcl",
    "s3:get_bucket_logging": "s3:GetBucketLogging",
    "s3:get_bucket_lifecycle_configuration": "s3:GetLifecycleConfiguration",
    "s3:get_bucket_versioning": "s3:GetBucketVersioning",
    "s3:get_bucket_replication": "s3:GetReplicationConfiguration",
    "s3:get_object_lock_configuration": "s3:GetBucketObjectLockConfiguration",
    "kms:list_keys": "kms:ListKeys",
    "kms:list_aliases": "kms:ListAliases",
    "kms:describe_key": "kms:DescribeKey",
    "kms:get_key_rotation_status": "kms:GetKeyRotationStatus",
    "kms:get_key_policy": "kms:GetKeyPolicy",
    "kms:list_resource_tags": "kms:ListResourceTags",
    "iam:list_roles": "iam:ListRoles",
    "iam:list_users": "iam:ListUsers",
    "iam:list_policies": "iam:ListPolicies",
    "iam:list_role_tags": "iam:ListRoleTags",
    "iam:list_user_tags": "iam:ListUserTags",
    "iam:list_role_policies": "iam:ListRolePolicies",
    "iam:list_user_policies": "iam:ListUserPolicies",
    "iam:get_role_policy": "iam:GetRolePolicy",
    "iam:get_user_policy": "iam:GetUserPolicy",
    "iam:list_attached_role_policies": "iam:ListAttachedRolePolicies",
    "iam:list_attached_user_policies": "iam:ListAttachedUserPolicies",
    "iam:get_policy": "iam:GetPolicy",
    "iam:get_policy_version": "iam:GetPolicyVersion",
    "dynamodb:list_tables": "dynamodb:ListTables",
    "dynamodb:describe_table": "dynamodb:DescribeTable",
    "dynamodb:describe_time_to_live": "dynamodb:DescribeTimeToLive",
    "dynamodb:describe_continuous_backups": "dynamodb:DescribeContinuousBackups",
    "dynamodb:list_tags_of_resource": "dynamodb:ListTagsOfResource",
    "cloudtrail:describe_trails": "cloudtrail:DescribeTrails",
    "cloudtrail:get_trail_status": "cloudtrail:GetTrailStatus",
    "cloudtrail:get_event_selectors": "cloudtrail:GetEventSelectors",
    "cloudtrail:list_tags": "cloudtrail:ListTags",
    "rds:describe_db_instances": "rds:DescribeDBInstances",
    "rds:describe_db_clusters": "rds:DescribeDBClusters",
    "rds:describe_db_parameter_groups": "rds:DescribeDBParameterGroups",
    "rds:describe_db_parameters": "rds:DescribeDBParameters",
    "rds:describe_db_cluster_parameter_groups": "rds:DescribeDBClusterParameterGroups",
    "rds:describe_db_cluster_parameters": "rds:DescribeDBClusterParameters",
    "logs:describe_log_groups": "logs:DescribeLogGroups",
    "logs:list_tags_log_group": "logs:ListTagsLogGroup",
}
