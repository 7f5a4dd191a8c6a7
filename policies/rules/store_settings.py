"""Store settings: the encryption and TLS switches that sit beside a store's main encryption input.

ENC-002 judges the one key a store names. Many stores keep personal data in more than one place, or
guard it with a switch of their own: an EC2 instance's root and EBS volumes, Performance Insights
(which records SQL text with its bind values), each replica of a global DynamoDB table, the three
parts of a Glue security configuration, an OpenSearch Serverless encryption policy, the key Cognito
encrypts verification codes with. ENC-004 judges those; ENC-005 the transport settings of stores that
take their TLS from a cluster setting or a parameter group (MSK, DocumentDB, Neptune, RDS Proxy);
NET-001 a message broker reachable from the internet; NET-002 a Kubernetes API endpoint open to it.

Every rule here only speaks for stores holding personal data (an untagged store does, fail safe), and
every fix names a customer-managed key in an allowed region of the aws-cn partition.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from policies import kms
from policies.model import UNKNOWN, Resource, Severity
from policies.references import referenced
from policies.registry import Violation, rule, unknown
from policies.s3 import as_list, first
from policies.stack import Stack
from policies.tokens import (
    COGNITO_USER_POOL,
    DAX_CLUSTER,
    DOCDB_CLUSTER,
    DOCDB_CLUSTER_PARAMETER_GROUP,
    DYNAMODB_TABLE,
    EBS_DEFAULT_KMS_KEY,
    EBS_ENCRYPTION_BY_DEFAULT,
    EC2_INSTANCE,
    EKS_CLUSTER,
    ELASTICACHE_CLUSTER,
    GLUE_SECURITY_CONFIGURATION,
    LAUNCH_CONFIGURATION,
    LAUNCH_TEMPLATE,
    MQ_BROKER,
    MSK_CLUSTER,
    NEPTUNE_CLUSTER,
    NEPTUNE_CLUSTER_PARAMETER_GROUP,
    OPENSEARCH_SERVERLESS_SECURITY_POLICY,
    RDS_CLUSTER,
    RDS_CLUSTER_INSTANCE,
    RDS_INSTANCE,
    RDS_PROXY,
)
from policies.values import flag, nested

Problem = str | Violation


def _personal(res: Resource, stack: Stack) -> bool:
    if res.type == RDS_CLUSTER_INSTANCE:
        # A cluster instance is classified through its cluster.
        cluster = referenced(stack, res, "clusterIdentifier", (RDS_CLUSTER,))
        if cluster is not None:
            return stack.holds_personal_data(cluster)
    return stack.holds_personal_data(res)


def _key_fix(res: Resource, stack: Stack, setting: str) -> str:
    return (
        f"set {setting} to a customer-managed KMS key in {kms.key_region_text(res, stack)} "
        f"({kms.key_arn_example(res, stack)})"
    )


def _key_text(res: Resource, stack: Stack) -> str:
    return (
        f"a customer-managed KMS key in {kms.key_region_text(res, stack)} ({kms.key_arn_example(res, stack)})"
    )


# -- ENC-004 -----------------------------------------------------------------------------------------


#: One block device to judge: (what, device settings, input path, whether the device can name a key).
Device = tuple[str, Any, str, bool]


def _ec2_instance(res: Resource, stack: Stack) -> Iterator[Problem]:
    """The root volume and every EBS block device, with the account's EBS encryption by default."""
    devices: list[Device] = []
    root = res.props.get("rootBlockDevice")
    if root is UNKNOWN or first(root) is UNKNOWN:
        yield unknown(
            f"{res.label}: rootBlockDevice is not known until apply, so its root volume cannot be checked"
        )
    elif first(root) is None and res.props.get("launchTemplate") not in (None, {}, []):
        if referenced(stack, res, "launchTemplate", (LAUNCH_TEMPLATE,)) is None:
            yield unknown(
                f"{res.label}: its root volume comes from a launch template that is not in this stack, so its "
                "encryption cannot be read; declare rootBlockDevice {encrypted: true, kmsKeyId} on the instance"
            )
        # else: the launch template of this stack is judged on its own.
    else:
        devices.append(("root volume (rootBlockDevice)", first(root) or {}, "rootBlockDevice", True))
    yield from _ebs_devices(res, "ebsBlockDevices", devices, can_name_key=True)
    yield from _judge_devices(res, stack, devices)


def _launch_configuration(res: Resource, stack: Stack) -> Iterator[Problem]:
    """A launch configuration cannot name a key: its volumes use the account's default EBS key."""
    devices: list[Device] = []
    root = res.props.get("rootBlockDevice")
    if root is UNKNOWN or first(root) is UNKNOWN:
        yield unknown(f"{res.label}: rootBlockDevice is not known until apply")
    else:
        devices.append(("root volume (rootBlockDevice)", first(root) or {}, "rootBlockDevice", False))
    yield from _ebs_devices(res, "ebsBlockDevices", devices, can_name_key=False)
    yield from _judge_devices(res, stack, devices)


def _launch_template(res: Resource, stack: Stack) -> Iterator[Problem]:
    mappings = res.props.get("blockDeviceMappings")
    if mappings is UNKNOWN:
        yield unknown(f"{res.label}: blockDeviceMappings is not known until apply")
        return
    devices: list[Device] = []
    for i, mapping in enumerate(as_list(mappings)):
        if not isinstance(mapping, dict):
            yield unknown(f"{res.label}: blockDeviceMappings[{i}] is not known until apply")
            continue
        ebs = first(mapping.get("ebs"))
        if ebs is None:
            continue  # an instance-store or suppressed device: no EBS volume
        name = mapping.get("deviceName")
        shown = f" {name}" if isinstance(name, str) else ""
        devices.append(
            (f"EBS volume{shown} (blockDeviceMappings[{i}].ebs)", ebs, "blockDeviceMappings", True)
        )
    if not devices:
        devices.append(
            (
                "root volume (no blockDeviceMappings: as the AMI's snapshot is)",
                {},
                "blockDeviceMappings",
                True,
            )
        )
    yield from _judge_devices(res, stack, devices)


def _ebs_devices(res: Resource, prop: str, devices: list[Device], *, can_name_key: bool) -> Iterator[Problem]:
    extra = res.props.get(prop)
    if extra is UNKNOWN:
        yield unknown(f"{res.label}: {prop} is not known until apply, so its volumes cannot be checked")
        return
    for i, device in enumerate(as_list(extra)):
        name = nested(device, "deviceName")
        shown = f" {name}" if isinstance(name, str) else ""
        devices.append((f"EBS volume{shown} ({prop}[{i}])", device, prop, can_name_key))


def _device_fix(res: Resource, stack: Stack, prop: str, can_name_key: bool) -> str:
    if can_name_key:
        return f"set {prop} {{encrypted: true, kmsKeyId: {_key_text(res, stack)}}}"
    return (
        f"set {prop} {{encrypted: true}} and make the account's default EBS key a customer-managed key "
        f"(aws.ebs.DefaultKmsKey keyArn = {_key_text(res, stack)}), or move to an aws.ec2.LaunchTemplate whose "
        "blockDeviceMappings name kmsKeyId"
    )


def _judge_devices(res: Resource, stack: Stack, devices: list[Device]) -> Iterator[Problem]:
    default_on, default_key, default_holder = _ebs_default(res, stack)
    for what, device, prop, can_name_key in devices:
        if device is UNKNOWN or not isinstance(device, dict):
            yield unknown(f"{res.label}: its {what} is not known until apply")
            continue
        fix = _device_fix(res, stack, prop, can_name_key)
        encrypted = device.get("encrypted")
        if encrypted is UNKNOWN:
            yield unknown(f"{res.label}: whether its {what} is encrypted is not known until apply; {fix}")
            continue
        key = (device.get("kmsKeyId") or None) if can_name_key else None
        holder, key_prop = res, prop
        if key is None and default_key is not None:
            # Without a key of its own, an encrypted volume uses the account's default EBS key.
            key, (holder, key_prop) = default_key, default_holder
        if encrypted is None or encrypted == "" or (flag(encrypted) is not True and default_on is True):
            # With EBS encryption by default on, EC2 encrypts every new volume, whatever the device says.
            if default_on is UNKNOWN:
                yield unknown(
                    f"{res.label}: its {what} does not set `encrypted`, and whether EBS encryption by default is "
                    f"on is not known until apply; {fix}"
                )
                continue
            if default_on is not True:
                yield (
                    f"{res.label}: its {what} does not set `encrypted` and this stack does not turn on EBS "
                    f"encryption by default, so the volume is stored unencrypted; {fix}"
                )
                continue
            yield from kms.judge_key(res, holder, key_prop, key, stack, f"the key of its {what}", fix)
            continue
        if flag(encrypted) is not True:
            yield f"{res.label}: its {what} sets encrypted: false, so the volume is stored unencrypted; {fix}"
            continue
        yield from kms.judge_key(res, holder, key_prop, key, stack, f"the key of its {what}", fix)


def _ebs_default(res: Resource, stack: Stack) -> tuple[Any, Any, tuple[Resource, str]]:
    """(on, key, key holder) of EBS encryption by default in the instance's region, from this stack."""
    index = stack.memo("store.ebs_default", _index_ebs_default)
    on = index["on"].get(res.region, False)
    key = index["key"].get(res.region)
    if key is None:
        return on, None, (res, "")
    return on, key.props.get("keyArn") or None, (key, "keyArn")


def _index_ebs_default(stack: Stack) -> dict[str, dict[Any, Any]]:
    on: dict[Any, Any] = {}
    for setting in stack.of_type(EBS_ENCRYPTION_BY_DEFAULT):
        enabled = setting.props.get("enabled", True)
        value = UNKNOWN if enabled is UNKNOWN else flag(enabled)
        if on.get(setting.region) is not True:
            on[setting.region] = value
    keys = {key.region: key for key in stack.of_type(EBS_DEFAULT_KMS_KEY)}
    return {"on": on, "key": keys}


def _dax(res: Resource, stack: Stack) -> Iterator[Problem]:
    enabled = nested(res.props, "serverSideEncryption", "enabled")
    if enabled is UNKNOWN:
        yield unknown(f"{res.label}: serverSideEncryption.enabled is not known until apply; set it to true")
    elif flag(enabled) is not True:
        state = "false" if enabled is not None else "not set (off)"
        yield (
            f"{res.label} caches items unencrypted at rest: serverSideEncryption.enabled is {state}; set "
            "serverSideEncryption {enabled: true} (DAX encrypts with a key AWS manages; recreate the cluster)"
        )


def _elasticache_cluster(res: Resource, stack: Stack) -> Iterator[Problem]:
    """A node-based cluster outside a replication group cannot encrypt at rest at all."""
    group = res.props.get("replicationGroupId")
    if group not in (None, ""):
        return  # a member of a replication group: ENC-002 judges the group
    engine = res.props.get("engine")
    if engine is UNKNOWN:
        yield unknown(
            f"{res.label}: its engine is not known until apply, so its encryption at rest cannot be told"
        )
        return
    if engine == "memcached":
        fix = (
            "move the data to an aws.elasticache.ServerlessCache (engine memcached or valkey) with kmsKeyId, or a "
            "ReplicationGroup with atRestEncryptionEnabled: true and kmsKeyId, naming a customer-managed key in "
            f"{kms.key_region_text(res, stack)}"
        )
        yield f"{res.label} runs memcached (engine 'memcached'), which cannot encrypt data at rest; {fix}"
    else:
        yield (
            f"{res.label} is a single-node {engine or 'redis'} cluster (engine {engine!r}), which cannot encrypt "
            "data at rest; create an aws.elasticache.ReplicationGroup with atRestEncryptionEnabled: true and "
            f"kmsKeyId = a customer-managed key in {kms.key_region_text(res, stack)}"
        )


def _performance_insights(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Performance Insights stores SQL text with its values; it needs its own customer-managed key."""
    enabled = res.props.get("performanceInsightsEnabled")
    if enabled is UNKNOWN:
        yield unknown(
            f"{res.label}: performanceInsightsEnabled is not known until apply; when on, "
            + _key_fix(res, stack, "performanceInsightsKmsKeyId")
        )
        return
    if flag(enabled) is not True:
        return
    yield from kms.judge_key(
        res,
        res,
        "performanceInsightsKmsKeyId",
        res.props.get("performanceInsightsKmsKeyId") or None,
        stack,
        "the Performance Insights key `performanceInsightsKmsKeyId`",
        _key_fix(res, stack, "performanceInsightsKmsKeyId"),
    )


def _dynamodb_replicas(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Each replica of a global table names its own key in its own region, else it uses aws/dynamodb."""
    replicas = res.props.get("replicas")
    if replicas is UNKNOWN:
        yield unknown(f"{res.label}: its replicas are not known until apply, so their keys cannot be checked")
        return
    allowed = stack.settings.allowed_regions
    for i, replica in enumerate(as_list(replicas)):
        if not isinstance(replica, dict):
            yield unknown(f"{res.label}: replica #{i + 1} is not known until apply")
            continue
        region = replica.get("regionName")
        where = region if isinstance(region, str) and region in allowed else stack.settings.regions_text()
        example = f"arn:{stack.settings.partition}:kms:{where.split(' ')[0]}:<account-id>:key/<key-id>"
        fix = f"set replicas[{i}].kmsKeyArn to a customer-managed KMS key in {where} ({example})"
        what = f"replica #{i + 1} ({region})" if isinstance(region, str) else f"replica #{i + 1}"
        ref = replica.get("kmsKeyArn")
        if ref is UNKNOWN:
            key = kms.key_from_dependencies(res, "replicas", stack)
            if key is None:
                yield unknown(f"{res.label}: the kmsKeyArn of {what} is not known until apply; {fix}")
            elif isinstance(region, str) and isinstance(key.region, str) and key.region != region:
                yield f"{res.label}: {what} is encrypted with {key.label}, which is in {key.region}; {fix}"
            continue
        if ref in (None, ""):
            yield (
                f"{res.label}: {what} names no kmsKeyArn, so it falls back to the AWS managed key "
                f"alias/aws/dynamodb; {fix}"
            )
            continue
        if kms.is_aws_managed(ref):
            yield f"{res.label}: {what} uses the AWS managed key {ref!r}; {fix}"
            continue
        if not isinstance(ref, str):
            yield f"{res.label}: {what} has a kmsKeyArn that is not a key ARN ({ref!r}); {fix}"
            continue
        key_region = kms.arn_region(ref)
        if key_region is None:
            found = kms.find_key(stack, ref)
            key_region = found.region if found is not None else None
        if isinstance(region, str) and isinstance(key_region, str) and key_region != region:
            yield (
                f"{res.label}: {what} names kmsKeyArn {ref!r}, a key in {key_region}; a replica's key must be in "
                f"the replica's own region: {fix}"
            )


#: Glue security configuration parts: block, mode input, modes that use a KMS key.
_GLUE_PARTS = (
    ("cloudwatchEncryption", "cloudwatchEncryptionMode", ("SSE-KMS",)),
    ("jobBookmarksEncryption", "jobBookmarksEncryptionMode", ("CSE-KMS",)),
    ("s3Encryption", "s3EncryptionMode", ("SSE-KMS",)),
)


def _glue(res: Resource, stack: Stack) -> Iterator[Problem]:
    config = first(res.props.get("encryptionConfiguration"))
    if config is UNKNOWN:
        yield unknown(f"{res.label}: encryptionConfiguration is not known until apply")
        return
    for block, mode_key, kms_modes in _GLUE_PARTS:
        path = f"encryptionConfiguration.{block}"
        fix = f"set {path} {{{mode_key}: '{kms_modes[0]}', kmsKeyArn: {_key_text(res, stack)}}}"
        mode = nested(config, block, mode_key)
        if mode is UNKNOWN:
            yield unknown(f"{res.label}: {path}.{mode_key} is not known until apply; {fix}")
        elif mode not in kms_modes:
            shown = repr(mode) if mode is not None else "not set"
            yield f"{res.label}: {path}.{mode_key} is {shown}, so Glue writes that data without a KMS key; {fix}"
        else:
            yield from kms.judge_key(
                res,
                res,
                "encryptionConfiguration",
                nested(config, block, "kmsKeyArn") or None,
                stack,
                f"{path}.kmsKeyArn",
                fix,
            )


def _opensearch_serverless(res: Resource, stack: Stack) -> Iterator[Problem]:
    kind = res.props.get("type")
    if kind is UNKNOWN:
        yield unknown(f"{res.label}: its type is not known until apply")
        return
    if kind != "encryption":
        return
    fix = (
        'set the policy to {"Rules": [...], "AWSOwnedKey": false, "KmsARN": "'
        + kms.key_arn_example(res, stack)
        + f'"}}, a customer-managed key in {kms.key_region_text(res, stack)}'
    )
    policy = res.props.get("policy")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            yield f"{res.label}: its policy is not valid JSON, so the collections' key cannot be verified; {fix}"
            return
    if policy is UNKNOWN:
        yield unknown(f"{res.label}: its encryption policy is not known until apply; {fix}")
        return
    if not isinstance(policy, dict):
        yield f"{res.label}: its policy is not a JSON object, so the collections' key cannot be verified; {fix}"
        return
    owned = policy.get("AWSOwnedKey")
    key = policy.get("KmsARN")
    if owned is UNKNOWN or key is UNKNOWN:
        yield unknown(f"{res.label}: the key of its encryption policy is not known until apply; {fix}")
    elif flag(owned) is True or not key:
        yield f"{res.label} encrypts its collections with an AWS owned key (AWSOwnedKey: true); {fix}"
    else:
        yield from kms.judge_key(res, res, "policy", key, stack, "the policy's KmsARN", fix)


def _cognito(res: Resource, stack: Stack) -> Iterator[Problem]:
    """User pools are encrypted by AWS; the key the program chooses is the one for custom senders' codes."""
    config = first(res.props.get("lambdaConfig"))
    if config is UNKNOWN:
        yield unknown(f"{res.label}: lambdaConfig is not known until apply")
        return
    if not isinstance(config, dict):
        return
    senders = [s for s in ("customSmsSender", "customEmailSender") if config.get(s) not in (None, {}, [])]
    key = config.get("kmsKeyId")
    if not senders and key in (None, ""):
        return
    what = "lambdaConfig.kmsKeyId (it encrypts the codes and temporary passwords sent to phone numbers and emails)"
    yield from kms.judge_key(
        res, res, "lambdaConfig", key or None, stack, what, _key_fix(res, stack, "lambdaConfig.kmsKeyId")
    )


_SETTINGS = {
    EC2_INSTANCE: _ec2_instance,
    LAUNCH_CONFIGURATION: _launch_configuration,
    LAUNCH_TEMPLATE: _launch_template,
    DAX_CLUSTER: _dax,
    ELASTICACHE_CLUSTER: _elasticache_cluster,
    RDS_INSTANCE: _performance_insights,
    RDS_CLUSTER: _performance_insights,
    RDS_CLUSTER_INSTANCE: _performance_insights,
    DYNAMODB_TABLE: _dynamodb_replicas,
    GLUE_SECURITY_CONFIGURATION: _glue,
    OPENSEARCH_SERVERLESS_SECURITY_POLICY: _opensearch_serverless,
    COGNITO_USER_POOL: _cognito,
}


@rule(
    id="ENC-004",
    title="Every place a store keeps personal data is encrypted with a customer-managed key",
    severity=Severity.HIGH,
    types=_SETTINGS,
    remediation=(
        "Encrypt each part with a customer-managed aws.kms.Key in the store's region (cn-north-1 or "
        "cn-northwest-1): EC2 rootBlockDevice/ebsBlockDevices {encrypted: true, kmsKeyId}, DAX "
        "serverSideEncryption.enabled, performanceInsightsKmsKeyId, replicas[].kmsKeyArn, the three parts of "
        "a Glue security configuration, an OpenSearch Serverless encryption policy's KmsARN, a Cognito "
        "lambdaConfig.kmsKeyId; move memcached and single-node caches to an encrypted replication group."
    ),
)
def store_settings_encrypted(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Volumes of instances, caches, Performance Insights, replicas and service settings that hold personal
    data are encrypted at rest, with a customer-managed key of the store's region where the service allows one."""
    if not _personal(res, stack):
        return
    yield from _SETTINGS[res.type](res, stack)


# -- ENC-005 -----------------------------------------------------------------------------------------


def _msk_transit(res: Resource, stack: Stack) -> Iterator[Problem]:
    transit = nested(res.props, "encryptionInfo", "encryptionInTransit")
    if transit is UNKNOWN:
        yield unknown(f"{res.label}: encryptionInfo.encryptionInTransit is not known until apply")
        return
    client = nested(transit, "clientBroker")
    fix = "set encryptionInfo.encryptionInTransit {clientBroker: 'TLS', inCluster: true}"
    if client is UNKNOWN:
        yield unknown(
            f"{res.label}: encryptionInfo.encryptionInTransit.clientBroker is not known until apply; {fix}"
        )
    elif client not in (None, "", "TLS"):
        yield (
            f"{res.label} lets clients connect in cleartext: encryptionInfo.encryptionInTransit.clientBroker is "
            f"{client!r}; {fix}"
        )
    in_cluster = nested(transit, "inCluster")
    if in_cluster is UNKNOWN:
        yield unknown(
            f"{res.label}: encryptionInfo.encryptionInTransit.inCluster is not known until apply; {fix}"
        )
    elif in_cluster is not None and flag(in_cluster) is not True:
        yield (
            f"{res.label} replicates between brokers in cleartext: encryptionInfo.encryptionInTransit.inCluster "
            f"is false; {fix}"
        )


#: Cluster parameter group types, the cluster input naming the group, the TLS parameter and its off values.
_TLS_GROUPS = {
    DOCDB_CLUSTER: (
        DOCDB_CLUSTER_PARAMETER_GROUP,
        "dbClusterParameterGroupName",
        "tls",
        ("disabled",),
        "enabled",
    ),
    NEPTUNE_CLUSTER: (
        NEPTUNE_CLUSTER_PARAMETER_GROUP,
        "neptuneClusterParameterGroupName",
        "neptune_enforce_ssl",
        ("0", "false"),
        "1",
    ),
}


def _groups_by_name(stack: Stack) -> dict[str, dict[str, Resource]]:
    out: dict[str, dict[str, Resource]] = {}
    for group_type in (DOCDB_CLUSTER_PARAMETER_GROUP, NEPTUNE_CLUSTER_PARAMETER_GROUP):
        index: dict[str, Resource] = {}
        for group in stack.of_type(group_type):
            for key in ("name", "id"):
                value = group.props.get(key)
                if isinstance(value, str) and value:
                    index.setdefault(value, group)
        out[group_type] = index
    return out


def _cluster_tls(res: Resource, stack: Stack) -> Iterator[Problem]:
    group_type, group_input, parameter, off_values, on_value = _TLS_GROUPS[res.type]
    name = res.props.get(group_input)
    group = referenced(stack, res, group_input, (group_type,))
    if group is None and isinstance(name, str):
        group = stack.memo("store.tls_groups", _groups_by_name)[group_type].get(name)
    fix = f"set the parameter {parameter} to '{on_value}' in its cluster parameter group ({group_input})"
    if group is None:
        if name in (None, "") or (isinstance(name, str) and name.startswith("default.")):
            return  # the default group enforces TLS
        shown = "unknown until apply" if name is UNKNOWN else repr(name)
        yield unknown(
            f"{res.label}: its cluster parameter group ({group_input} {shown}) is not a group of this stack, so "
            f"whether it enforces TLS ({parameter}) cannot be read; {fix}"
        )
        return
    parameters = group.props.get("parameters")
    if parameters is UNKNOWN:
        yield unknown(f"{res.label}: the parameters of {group.label} are not known until apply; {fix}")
        return
    for item in as_list(parameters):
        if not isinstance(item, dict) or item.get("name") != parameter:
            continue
        value = item.get("value")
        if value is UNKNOWN:
            yield unknown(f"{res.label}: {parameter} in {group.label} is not known until apply; {fix}")
        elif str(value).strip().lower() in off_values:
            yield (
                f"{res.label} accepts cleartext connections: its cluster parameter group {group.label} sets "
                f"{parameter} to {value!r}; {fix}"
            )


def _rds_proxy(res: Resource, stack: Stack) -> Iterator[Problem]:
    value = res.props.get("requireTls")
    if value is UNKNOWN:
        yield unknown(f"{res.label}: requireTls is not known until apply; set requireTls: true")
    elif flag(value) is not True:
        state = "false" if value is not None else "not set (it defaults to false)"
        yield (
            f"{res.label} accepts cleartext connections to the database: requireTls is {state}; set "
            "requireTls: true"
        )


_TRANSIT = {
    MSK_CLUSTER: _msk_transit,
    DOCDB_CLUSTER: _cluster_tls,
    NEPTUNE_CLUSTER: _cluster_tls,
    RDS_PROXY: _rds_proxy,
}


@rule(
    id="ENC-005",
    title="Data stores that set TLS in a cluster setting or parameter group require it",
    severity=Severity.HIGH,
    types=_TRANSIT,
    remediation=(
        "MSK: encryptionInfo.encryptionInTransit {clientBroker: 'TLS', inCluster: true}; DocumentDB: cluster "
        "parameter `tls` 'enabled' (or tls1.2+); Neptune: `neptune_enforce_ssl` '1'; RDS Proxy: requireTls: true."
    ),
)
def store_requires_tls(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Clients reach personal data in MSK, DocumentDB, Neptune and through RDS Proxy only over TLS."""
    if not _personal(res, stack):
        return
    yield from _TRANSIT[res.type](res, stack)


# -- NET-001 -----------------------------------------------------------------------------------------


@rule(
    id="NET-001",
    title="Message brokers holding personal data are not reachable from the internet",
    severity=Severity.HIGH,
    types=[MQ_BROKER],
    remediation="Set publiclyAccessible: false on the aws.mq.Broker and reach it through its VPC subnets.",
)
def broker_not_public(res: Resource, stack: Stack) -> Iterator[Problem]:
    """An Amazon MQ broker with a public endpoint exposes its queues (and their messages) to the internet."""
    if not _personal(res, stack):
        return
    public = res.props.get("publiclyAccessible")
    if public is UNKNOWN:
        yield unknown(
            f"{res.label}: publiclyAccessible is not known until apply; set publiclyAccessible: false"
        )
    elif flag(public) is True:
        yield (
            f"{res.label} has a public endpoint (publiclyAccessible: true), so its queues are reachable from the "
            "internet; set publiclyAccessible: false and place it in private subnets (subnetIds)"
        )


# -- NET-002 -----------------------------------------------------------------------------------------

_EVERYWHERE = ("0.0.0.0/0", "::/0")


@rule(
    id="NET-002",
    title="EKS API endpoints are not open to the whole internet",
    severity=Severity.HIGH,
    types=[EKS_CLUSTER],
    remediation=(
        "Set vpcConfig.endpointPublicAccess: false (with endpointPrivateAccess: true), or list the networks that "
        "may reach the API in vpcConfig.publicAccessCidrs instead of 0.0.0.0/0."
    ),
)
def eks_endpoint_not_open(res: Resource, stack: Stack) -> Iterator[Problem]:
    """An EKS API endpoint that anyone on the internet can reach is one stolen token away from every
    Secret and pod of the cluster. EKS makes the endpoint public and open to 0.0.0.0/0 unless told not to."""
    if not _personal(res, stack):
        return
    vpc = first(res.props.get("vpcConfig"))
    if vpc is UNKNOWN:
        yield unknown(
            f"{res.label}: vpcConfig is not known until apply, so its API endpoint cannot be checked"
        )
        return
    vpc = vpc if isinstance(vpc, dict) else {}
    public = vpc.get("endpointPublicAccess")
    cidrs = vpc.get("publicAccessCidrs")
    if public is UNKNOWN or cidrs is UNKNOWN or any(c is UNKNOWN for c in as_list(cidrs)):
        yield unknown(
            f"{res.label}: vpcConfig.endpointPublicAccess or publicAccessCidrs is not known until apply; set "
            "endpointPublicAccess: false or list the allowed networks"
        )
        return
    if public is not None and flag(public) is False:
        return
    default = "" if public is not None else " (endpointPublicAccess defaults to true)"
    if cidrs in (None, []):
        yield (
            f"{res.label} has a public API endpoint{default} with no publicAccessCidrs, which EKS opens to 0.0.0.0/0; "
            "set endpointPublicAccess: false, or publicAccessCidrs to the networks that need it"
        )
        return
    open_to = [c for c in as_list(cidrs) if isinstance(c, str) and c.strip() in _EVERYWHERE]
    if open_to:
        yield (
            f"{res.label} has a public API endpoint{default} open to {open_to[0]} (vpcConfig.publicAccessCidrs); set "
            "endpointPublicAccess: false, or publicAccessCidrs to the networks that need it"
        )
