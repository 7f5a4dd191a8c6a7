"""controllers/deploy: Kubernetes schemas (offline), the restricted Pod Security Standard, least-privilege
RBAC checked against what the operator really calls, and the controller's IAM policy checked with the
project's own rules and against the AWS calls the reconcilers really make."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "controllers" / "deploy"
K8S_VERSION = "1.31"  # the oldest Kubernetes version the manifests target (EKS in the China regions)
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "ClusterKopfPeering",
}
KUSTOMIZE_KEYS = {"apiVersion", "kind", "resources", "namespace", "labels", "images"}


def build(directory: Path) -> list[dict[str, Any]]:
    """The subset of `kustomize build` these kustomizations use (the test refuses any other field)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert set(kustomization) <= KUSTOMIZE_KEYS, set(kustomization) - KUSTOMIZE_KEYS
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            objects += build(path)
        else:
            assert path.parent == directory.resolve(), (
                f"{entry}: kustomize loads files only from its own folder"
            )
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    namespace = kustomization.get("namespace")
    labels: dict[str, str] = {}
    for entry in kustomization.get("labels", []):
        labels.update(entry["pairs"])
    images = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in kustomization.get("images", [])}
    for obj in objects:
        meta = obj.setdefault("metadata", {})
        if namespace and obj["kind"] not in CLUSTER_SCOPED:
            meta["namespace"] = namespace
        if labels:
            meta["labels"] = {**meta.get("labels", {}), **labels}
        for subject in obj.get("subjects", []) if namespace else ():
            if subject.get("kind") == "ServiceAccount":
                subject["namespace"] = namespace
        for container in _containers(obj):
            container["image"] = images.get(container["image"], container["image"])
    return objects


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {}) if obj["kind"] == "Deployment" else {}
    return spec.get("containers", []) + spec.get("initContainers", [])


def crds() -> list[dict[str, Any]]:
    return build(DEPLOY / "crds")


def controller() -> list[dict[str, Any]]:
    return build(DEPLOY)


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


def test_every_manifest_validates_against_the_kubernetes_schemas() -> None:
    import kubernetes_validate.utils as kv

    definitions = crds()
    assert {d["spec"]["names"]["kind"] for d in definitions} == {
        "RetentionPolicy",
        "AccessAuditPolicy",
        "ErasureRequest",
        "AccessRequest",
        "ClusterKopfPeering",
        "KopfPeering",
        "PolicyReport",
    }
    schemas = {
        (d["spec"]["group"], d["spec"]["names"]["kind"]): d["spec"]["versions"][0]["schema"][
            "openAPIV3Schema"
        ]
        for d in definitions
    }
    for obj in definitions + controller():
        group = obj["apiVersion"].rpartition("/")[0]
        if (group, obj["kind"]) in schemas:  # a custom resource: its CRD's schema
            jsonschema.Draft4Validator(schemas[group, obj["kind"]]).validate(obj)
        else:
            kv.validate(obj, K8S_VERSION, strict=True)


def test_example_custom_resources_validate_against_the_deployed_crds() -> None:
    schemas = {
        d["spec"]["names"]["kind"]: d["spec"]["versions"][0]["schema"]["openAPIV3Schema"] for d in crds()
    }
    examples = [
        d
        for name in ("estate.yaml", "access-request.yaml")
        for d in yaml.safe_load_all((ROOT / "controllers/examples" / name).read_text())
        if d
    ]
    for doc in examples:
        jsonschema.Draft4Validator(schemas[doc["kind"]]).validate(doc)
    bad = dict(examples[0], spec={**examples[0]["spec"], "interval": "soon"})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schemas["RetentionPolicy"]).validate(bad)


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """The restricted Pod Security Standard's checks (https://kubernetes.io/docs/concepts/security/pod-security-standards/)."""
    problems = []
    pod_ctx = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(f"pod {flag}")
    allowed_volumes = {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= allowed_volumes:
            problems.append(f"volume {volume['name']}: {kinds - allowed_volumes}")
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        ctx = container.get("securityContext", {})
        name = container["name"]
        if ctx.get("privileged"):
            problems.append(f"{name}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        if ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is not True:
            problems.append(f"{name}: runAsNonRoot must be true")
        if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
            problems.append(f"{name}: runAsUser 0")
        seccomp = ctx.get("seccompProfile", pod_ctx.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile {seccomp}")
        caps = ctx.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{name}: capabilities must drop ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities")
        if any(p.get("hostPort") for p in container.get("ports", [])):
            problems.append(f"{name}: hostPort")
        # Beyond the standard, what this project asks of its own pod:
        if ctx.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: readOnlyRootFilesystem must be true")
    return problems


def test_the_deployment_passes_the_restricted_pod_security_standard() -> None:
    objects = controller()
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []
    broken = json.loads(json.dumps(pod))
    broken["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    broken["containers"][0]["securityContext"]["capabilities"] = {"add": ["NET_ADMIN"]}
    assert len(restricted_violations(broken)) == 3
    labels = one(objects, "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_deployment_wires_peering_ports_and_the_service_account_consistently() -> None:
    objects = controller()
    deployment, service = one(objects, "Deployment"), one(objects, "Service")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert args[0] == "controller" and "--all-namespaces" in args
    peering = next(a.split("=", 1)[1] for a in args if a.startswith("--peering="))
    assert one(objects, "ClusterKopfPeering")["metadata"]["name"] == peering
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert f"--metrics-port={ports['metrics']}" in args and f"--health-port={ports['health']}" in args
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    assert container["image"].endswith(":0.1.0")
    account = one(objects, "ServiceAccount")
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws-cn:iam::")
    assert deployment["spec"]["replicas"] >= 2  # peering makes extra replicas safe


def granted(objects: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
    """(verb, group/resource, resourceName or None) the ClusterRole grants."""
    out = set()
    for rule in one(objects, "ClusterRole")["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    for name in rule.get("resourceNames") or [None]:
                        out.add((verb, f"{group}/{resource}", name))
    return out


def test_rbac_is_least_privilege() -> None:
    objects = controller()
    grants = granted(objects)
    assert not any("*" in part for grant in grants for part in grant if part)
    assert not any(resource.split("/")[1] in ("secrets", "configmaps", "pods") for _, resource, _ in grants)
    assert {verb for verb, _, _ in grants} <= {"list", "watch", "patch", "create", "get"}
    # `get` only for the operator's own PolicyReport, by name (controllers/policy_reports.py).
    assert {(r, n) for v, r, n in grants if v == "get"} == {("wgpolicyk8s.io/policyreports", "residency")}
    binding = one(objects, "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "residency-controller", "namespace": "residency-system"}
    ]


def allowed_by(grants: set[tuple[str, str, str | None]], call: tuple[str, str, str | None]) -> bool:
    verb, resource, name = call
    return (verb, resource, None) in grants or (name is not None and (verb, resource, name) in grants)


# --- the operator's real Kubernetes calls ---------------------------------------------------------


def test_rbac_grants_exactly_what_the_operator_calls(kube: Any, estate: Any, start_operator: Any) -> None:
    from .conftest import wait_for
    from .kube import condition
    from .test_operator import NS, erasure, reconciled, retention, seed_crash_dumps

    kube.peering("residency")
    seed_crash_dumps(estate, "pa-crash", {"crash/a.dmp": 40})
    operator = start_operator(peering="residency", priority=10)
    kube.create(NS, retention("crash-retention", "pa-crash"))
    kube.create(NS, erasure("erase-u1", "u1", "pa-crash"))
    kube.create(NS, {**retention("broken", "pa-crash"), "spec": {"rules": []}})
    wait_for(reconciled(kube, "RetentionPolicy", "crash-retention", 1), what="Ready")
    wait_for(
        lambda: condition(kube.get("ErasureRequest", NS, "erase-u1"), "Compliant").get("status") == "True"
    )
    kube.delete("RetentionPolicy", NS, "crash-retention")  # kopf releases its finalizer
    wait_for(lambda: kube.get("RetentionPolicy", NS, "crash-retention") is None, what="deletion")
    wait_for(
        lambda: 'name="crash-retention"' not in operator.controller.metrics.text(), what="gauges dropped"
    )
    operator.stop()

    calls = set(kube.api.calls)
    grants = granted(controller())
    assert {c for c in calls if not allowed_by(grants, c)} == set()
    used = {(verb, resource) for verb, resource, _ in calls}
    # Every grant is used, except the same verbs on the kinds this run did not touch.
    unused = {(verb, resource) for verb, resource, _ in grants} - used
    untouched = {"accessauditpolicies", "accessrequests"}  # test_access_request_operator.py: AccessRequest
    assert {r.split("/")[1] for _, r in unused} <= untouched | {f"{k}/status" for k in untouched}, unused


# --- the controller's IAM policy -------------------------------------------------------------------

#: boto3 operation (as ClientFactory counts it) -> the IAM actions it needs.
IAM_FOR_CALL = {
    "s3.ListObjectVersions": {"s3:ListBucketVersions"},
    "s3.ListObjectsV2": {"s3:ListBucket"},
    "s3.GetBucketLocation": {"s3:GetBucketLocation"},
    "s3.GetBucketTagging": {"s3:GetBucketTagging"},
    "s3.GetBucketLifecycleConfiguration": {"s3:GetLifecycleConfiguration"},
    "s3.PutBucketLifecycleConfiguration": {"s3:PutLifecycleConfiguration"},
    "s3.GetObjectLockConfiguration": {"s3:GetBucketObjectLockConfiguration"},
    "s3.GetBucketLogging": {"s3:GetBucketLogging"},
    "s3.PutBucketLogging": {"s3:PutBucketLogging"},
    "s3.HeadObject": {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetObjectRetention",
        "s3:GetObjectLegalHold",
    },
    "s3.GetObject": {"s3:GetObject"},
    "s3.GetObjectTagging": {"s3:GetObjectTagging", "s3:GetObjectVersionTagging"},
    "s3.DeleteObjects": {"s3:DeleteObject", "s3:DeleteObjectVersion"},
    "s3.DeleteObject": {"s3:DeleteObject", "s3:DeleteObjectVersion"},
    "s3.GetBucketReplication": {"s3:GetReplicationConfiguration"},
    "s3.PutObject": {"s3:PutObject"},
    "s3.GetPublicAccessBlock": {"s3:GetBucketPublicAccessBlock"},
    "kms.DescribeKey": {"kms:DescribeKey"},
    "dynamodb.DescribeTable": {"dynamodb:DescribeTable"},
    "dynamodb.ListTagsOfResource": {"dynamodb:ListTagsOfResource"},
    "dynamodb.DescribeTimeToLive": {"dynamodb:DescribeTimeToLive"},
    "dynamodb.UpdateTimeToLive": {"dynamodb:UpdateTimeToLive"},
    "dynamodb.Scan": {"dynamodb:Scan"},
    "dynamodb.Query": {"dynamodb:Query"},
    "dynamodb.DeleteItem": {"dynamodb:DeleteItem"},
    "dynamodb.BatchWriteItem": {"dynamodb:BatchWriteItem"},
    "dynamodb.BatchGetItem": {"dynamodb:BatchGetItem"},
    "cloudtrail.DescribeTrails": {"cloudtrail:DescribeTrails"},
    "cloudtrail.GetEventSelectors": {"cloudtrail:GetEventSelectors"},
    "cloudtrail.GetTrailStatus": {"cloudtrail:GetTrailStatus"},
}


def iam_policy() -> dict[str, Any]:
    return json.loads((DEPLOY / "iam-policy.json").read_text())


def test_the_iam_policy_and_trust_pass_the_projects_own_rules() -> None:
    from builders import res, stack

    from policies.engine import evaluate
    from policies.registry import all_rules

    policy = res("aws:iam/policy:Policy", "residency-controller", {"policy": json.dumps(iam_policy())})
    trust = json.loads((DEPLOY / "iam-trust-policy.json").read_text())
    role = res("aws:iam/role:Role", "residency-controller", {"assumeRolePolicy": json.dumps(trust)})
    result = evaluate(stack(policy, role), list(all_rules().values()))
    assert [(f.rule, f.message) for f in result.findings] == []
    # The same rules do flag a careless variant, so the check above has teeth.
    loose = iam_policy()
    loose["Statement"][1]["Resource"] = ["*"]
    careless = res("aws:iam/policy:Policy", "careless", {"policy": json.dumps(loose)})
    assert {f.rule for f in evaluate(stack(careless), list(all_rules().values())).findings} >= {"ACC-004"}
    untrusting = json.loads(json.dumps(trust))
    del untrusting["Statement"][0]["Condition"]
    open_role = res("aws:iam/role:Role", "open", {"assumeRolePolicy": json.dumps(untrusting)})
    assert {f.rule for f in evaluate(stack(open_role), list(all_rules().values())).findings} >= {"ACC-005"}


def test_the_iam_policy_names_only_aws_cn_arns() -> None:
    for statement in iam_policy()["Statement"]:
        for arn in statement["Resource"]:
            assert arn == "*" or arn.startswith("arn:aws-cn:"), arn
            if arn == "*":
                # Only what cannot be scoped: DescribeTrails, and the explicit Deny.
                assert statement["Effect"] == "Deny" or statement["Action"] == ["cloudtrail:DescribeTrails"]


def test_the_iam_policy_allows_every_aws_call_the_reconcilers_make(estate: Any) -> None:
    """Run all three reconcilers over a small estate and map every API call they made to IAM actions."""
    from datetime import UTC, datetime, timedelta

    import boto3
    from moto_estate import days_ago

    from controllers.aws import ClientFactory, RetryPolicy
    from controllers.documents import load_text
    from controllers.enforce import run_once
    from policies.catalog import default_catalog

    uploads, logs = "pa-user-uploads", "pa-audit-logs"
    estate.bucket(uploads, lock=True)
    estate.bucket(logs)
    for key in ("uploads/u1/a.jpg", "crash/a.dmp", "uploads/user-42/old.jpg"):
        tagged = estate.s3.put_object(Bucket=uploads, Key=key, Body=b"x", Tagging="data-category=cookies")
        estate.backdate(uploads, key, tagged["VersionId"], days_ago(400))
    for i in range(8):  # young objects, so the sweep stays inside the example's blast radius (50 %)
        estate.s3.put_object(Bucket=uploads, Key=f"uploads/young/{i}.jpg", Body=b"x")
    estate.s3.put_object(Bucket=logs, Key="s3-access/2026-01-01-00-00-00-ABC", Body=b"")
    estate.table("pa-sessions", hash_key="pk")
    estate.table("pa-profiles", hash_key="userId")
    for i in range(3):
        estate.ddb.put_item(
            TableName="pa-sessions", Item={"pk": {"S": f"s{i}"}, "expiresAt": {"N": "9999999999"}}
        )
    estate.ddb.put_item(TableName="pa-sessions", Item={"pk": {"S": "old"}, "expiresAt": {"N": "1"}})
    estate.ddb.put_item(TableName="pa-profiles", Item={"userId": {"S": "user-42"}})
    text = (ROOT / "controllers/examples/estate.yaml").read_text()
    docs = load_text(text, source="estate.yaml", settings=default_catalog().settings())
    # The AccessRequest example: a private delivery bucket and a customer-managed key (moto picks its id).
    estate.bucket("pa-access-packages")
    block = dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    estate.s3.put_public_access_block(Bucket="pa-access-packages", PublicAccessBlockConfiguration=block)
    key = boto3.client("kms", **estate.kw).create_key()["KeyMetadata"]["Arn"]
    access = (ROOT / "controllers/examples/access-request.yaml").read_text()
    example_key = "arn:aws-cn:kms:cn-north-1:123456789012:key/0d4c6d2e-7b1a-4a8e-9a51-3c2f1e5b8a77"
    assert example_key in access and example_key in json.dumps(iam_policy())
    access = access.replace(example_key, key)
    docs += load_text(access, source="access-request.yaml", settings=default_catalog().settings())
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(attempts=1))
    results = run_once(docs, clients, datetime.now(UTC) + timedelta(days=1))
    (access,) = [r for r in results if r.kind == "AccessRequest"]
    assert access.compliant, access.all_errors()

    allowed = {a for s in iam_policy()["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    called = set(clients.calls)
    unmapped = called - set(IAM_FOR_CALL)
    assert unmapped == set(), f"add these calls to IAM_FOR_CALL and the IAM policy: {unmapped}"
    missing = {call: IAM_FOR_CALL[call] - allowed for call in called if IAM_FOR_CALL[call] - allowed}
    assert missing == {}
    assert {"s3.DeleteObjects", "dynamodb.Query", "cloudtrail.DescribeTrails"} <= called
    assert {"kms.DescribeKey", "s3.GetPublicAccessBlock", "s3.PutObject", "s3.ListObjectsV2"} <= called
    # The package's puts name the key: SSE-KMS needs kms:GenerateDataKey on it, and reading it back kms:Decrypt.
    (grant,) = [s for s in iam_policy()["Statement"] if s.get("Sid") == "AccessPackagesKey"]
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= set(grant["Action"])
