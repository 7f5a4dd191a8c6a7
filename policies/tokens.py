"""Pulumi type tokens the rules care about, for pulumi-aws v6 and v7.

v6 has `aws:s3/bucketV2:BucketV2` with `...V2` side resources and a legacy inline
`aws:s3/bucket:Bucket`; v7 renamed BucketV2 to `aws:s3/bucket:Bucket` and dropped the `V2` from
the side resources. Tokens are listed here once so every rule agrees on what a bucket is.
"""

from __future__ import annotations

PROVIDER_AWS = "pulumi:providers:aws"

S3_BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})

#: Side-resource class name (without the V2 suffix) to the kind a bucket's `side` is keyed by.
_S3_SIDE_KINDS = {
    "BucketServerSideEncryptionConfiguration": "encryption",
    "BucketPolicy": "policy",
    "BucketPublicAccessBlock": "public_access_block",
    "BucketLogging": "logging",
    "BucketLifecycleConfiguration": "lifecycle",
    "BucketVersioning": "versioning",
    "BucketReplicationConfig": "replication",
    "BucketReplicationConfiguration": "replication",
    "BucketObjectLockConfiguration": "object_lock",
    "BucketAcl": "acl",
    "BucketOwnershipControls": "ownership",
}

S3_SIDE_TYPES: dict[str, str] = {}
for _cls, _kind in _S3_SIDE_KINDS.items():
    _module = _cls[0].lower() + _cls[1:]
    S3_SIDE_TYPES[f"aws:s3/{_module}:{_cls}"] = _kind
    S3_SIDE_TYPES[f"aws:s3/{_module}V2:{_cls}V2"] = _kind


def bucket_side_kind(type_token: str) -> str | None:
    return S3_SIDE_TYPES.get(type_token)


def side_types(kind: str) -> frozenset[str]:
    return frozenset(t for t, k in S3_SIDE_TYPES.items() if k == kind)


DYNAMODB_TABLE = "aws:dynamodb/table:Table"
DYNAMODB_TABLE_REPLICA = "aws:dynamodb/tableReplica:TableReplica"
DYNAMODB_GLOBAL_TABLE = "aws:dynamodb/globalTable:GlobalTable"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
RDS_INSTANCE_AUTOMATED_BACKUPS_REPLICATION = (
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
)
EBS_VOLUME = "aws:ebs/volume:Volume"
EBS_SNAPSHOT = "aws:ebs/snapshot:Snapshot"
EBS_SNAPSHOT_COPY = "aws:ebs/snapshotCopy:SnapshotCopy"
EFS_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
EFS_REPLICATION = "aws:efs/replicationConfiguration:ReplicationConfiguration"
ELASTICACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
ELASTICACHE_REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
ELASTICACHE_SERVERLESS = "aws:elasticache/serverlessCache:ServerlessCache"
OPENSEARCH_DOMAIN = "aws:opensearch/domain:Domain"
ELASTICSEARCH_DOMAIN = "aws:elasticsearch/domain:Domain"
REDSHIFT_CLUSTER = "aws:redshift/cluster:Cluster"
REDSHIFT_SERVERLESS_NAMESPACE = "aws:redshiftserverless/namespace:Namespace"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SNS_TOPIC = "aws:sns/topic:Topic"
SNS_TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
KINESIS_STREAM = "aws:kinesis/stream:Stream"
FIREHOSE_STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_SUBSCRIPTION_FILTER = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"
LOG_DESTINATION = "aws:cloudwatch/logDestination:LogDestination"
SECRET = "aws:secretsmanager/secret:Secret"
BACKUP_VAULT = "aws:backup/vault:Vault"
BACKUP_PLAN = "aws:backup/plan:Plan"
KMS_KEY = "aws:kms/key:Key"
KMS_REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
KMS_REPLICA_EXTERNAL_KEY = "aws:kms/replicaExternalKey:ReplicaExternalKey"
KMS_ALIAS = "aws:kms/alias:Alias"
CLOUDTRAIL_TRAIL = "aws:cloudtrail/trail:Trail"
MSK_CLUSTER = "aws:msk/cluster:Cluster"
MQ_BROKER = "aws:mq/broker:Broker"
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
ATHENA_WORKGROUP = "aws:athena/workgroup:Workgroup"
EC2_INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EBS_ENCRYPTION_BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
EBS_DEFAULT_KMS_KEY = "aws:ebs/defaultKmsKey:DefaultKmsKey"
DAX_CLUSTER = "aws:dax/cluster:Cluster"
DOCDB_CLUSTER = "aws:docdb/cluster:Cluster"
DOCDB_CLUSTER_PARAMETER_GROUP = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
NEPTUNE_CLUSTER = "aws:neptune/cluster:Cluster"
NEPTUNE_CLUSTER_PARAMETER_GROUP = "aws:neptune/clusterParameterGroup:ClusterParameterGroup"
RDS_PROXY = "aws:rds/proxy:Proxy"
RDS_SNAPSHOT_COPY = "aws:rds/snapshotCopy:SnapshotCopy"
RDS_CLUSTER_SNAPSHOT_COPY = "aws:rds/clusterSnapshotCopy:ClusterSnapshotCopy"
GLUE_SECURITY_CONFIGURATION = "aws:glue/securityConfiguration:SecurityConfiguration"
OPENSEARCH_SERVERLESS_SECURITY_POLICY = "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy"
COGNITO_USER_POOL = "aws:cognito/userPool:UserPool"
SNS_TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
EVENT_BUS = "aws:cloudwatch/eventBus:EventBus"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_API_DESTINATION = "aws:cloudwatch/eventApiDestination:EventApiDestination"
DYNAMODB_TABLE_EXPORT = "aws:dynamodb/tableExport:TableExport"
DMS_ENDPOINT = "aws:dms/endpoint:Endpoint"
DMS_S3_ENDPOINT = "aws:dms/s3Endpoint:S3Endpoint"
S3_OBJECT_LOCK_TYPES = frozenset(
    {
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
    }
)
#: Types whose `arn` input is where they send data, not their own identity (an EventBridge target's
#: `arn` is the function, queue or bus it delivers to): never read as the resource's own ARN.
ARN_IS_DESTINATION = frozenset({EVENT_TARGET})
LB_LISTENER_TYPES = frozenset(
    {
        "aws:lb/listener:Listener",
        "aws:alb/listener:Listener",
        "aws:elasticloadbalancingv2/listener:Listener",
    }
)
CLASSIC_ELB = "aws:elb/loadBalancer:LoadBalancer"

IAM_ROLE = "aws:iam/role:Role"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_POLICY_DOCUMENT_TYPES = frozenset({IAM_POLICY, IAM_ROLE_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY})

#: Resources that hold data and must therefore sit in territory.
DATA_STORES = frozenset(
    S3_BUCKET_TYPES
    | {
        DYNAMODB_TABLE,
        DYNAMODB_TABLE_REPLICA,
        DYNAMODB_GLOBAL_TABLE,
        RDS_INSTANCE,
        RDS_CLUSTER,
        RDS_CLUSTER_INSTANCE,
        EBS_VOLUME,
        EBS_SNAPSHOT,
        EBS_SNAPSHOT_COPY,
        EFS_FILE_SYSTEM,
        ELASTICACHE_CLUSTER,
        ELASTICACHE_REPLICATION_GROUP,
        ELASTICACHE_SERVERLESS,
        OPENSEARCH_DOMAIN,
        ELASTICSEARCH_DOMAIN,
        REDSHIFT_CLUSTER,
        REDSHIFT_SERVERLESS_NAMESPACE,
        SQS_QUEUE,
        SNS_TOPIC,
        KINESIS_STREAM,
        FIREHOSE_STREAM,
        LOG_GROUP,
        SECRET,
        BACKUP_VAULT,
        KMS_KEY,
        KMS_REPLICA_KEY,
        KMS_REPLICA_EXTERNAL_KEY,
        "aws:fsx/openZfsFileSystem:OpenZfsFileSystem",
        "aws:fsx/lustreFileSystem:LustreFileSystem",
        "aws:fsx/windowsFileSystem:WindowsFileSystem",
        "aws:fsx/ontapFileSystem:OntapFileSystem",
        "aws:docdb/cluster:Cluster",
        "aws:neptune/cluster:Cluster",
        "aws:memorydb/cluster:Cluster",
        "aws:timestreamwrite/table:Table",
        "aws:glacier/vault:Vault",
    }
)

#: Data stores that carry a classification tag (the category of personal data they hold).
#: KMS keys and log-group-like plumbing are classified through what they protect.
CLASSIFIED_STORES = frozenset(
    DATA_STORES
    - {KMS_KEY, KMS_REPLICA_KEY, KMS_REPLICA_EXTERNAL_KEY, RDS_CLUSTER_INSTANCE, EBS_SNAPSHOT_COPY}
)
