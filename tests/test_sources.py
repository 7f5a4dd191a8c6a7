"""Sources: preview, stack export and plan files become the same resource model."""

from __future__ import annotations

import json

import pytest

from policies.errors import InputError
from policies.model import UNKNOWN, UNKNOWN_SENTINEL
from policies.sources import decode_json, stack_from_document

P = "urn:pulumi:dev::proj"
PROVIDER_URN = f"{P}::pulumi:providers:aws::cn"


def step(op, type_, name, inputs=None, *, provider=None, outputs=None, deps=None, old=False):
    urn = f"{P}::{type_}::{name}"
    state = {
        "urn": urn,
        "type": type_,
        "custom": True,
        "inputs": inputs or {},
        "outputs": outputs or {},
        "propertyDependencies": deps or {},
    }
    if provider:
        state["provider"] = provider
    s = {"op": op, "urn": urn}
    s["oldState" if old else "newState"] = state
    return s


def preview(*steps, config=None):
    return {"config": config or {}, "steps": list(steps), "changeSummary": {}}


def test_preview_skips_deleted_resources_and_keeps_the_rest():
    doc = preview(
        step("create", "aws:s3/bucketV2:BucketV2", "kept", {"bucket": "kept"}),
        step("delete", "aws:s3/bucketV2:BucketV2", "gone", {"bucket": "gone"}, old=True),
        step("delete-replaced", "aws:sqs/queue:Queue", "old-queue", old=True),
        step("same", "aws:sns/topic:Topic", "same-topic", old=True),
    )
    stack = stack_from_document(doc, "p.json")
    assert sorted(r.name for r in stack.resources) == ["kept", "same-topic"]


def test_unknown_sentinel_becomes_unknown_never_a_value():
    doc = preview(
        step(
            "create",
            "aws:s3/bucketV2:BucketV2",
            "b",
            {"bucket": UNKNOWN_SENTINEL, "tags": {"a": UNKNOWN_SENTINEL}},
        )
    )
    res = stack_from_document(doc, "p.json").resources[0]
    assert res.props["bucket"] is UNKNOWN
    assert res.tags["a"] is UNKNOWN


def test_defaults_bookkeeping_and_secrets_are_decoded():
    secret = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "plaintext": '"hunter2"',
    }
    sealed = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "AAAA"}
    doc = preview(
        step(
            "create",
            "aws:ssm/parameter:Parameter",
            "p",
            {"__defaults": ["name"], "value": secret, "other": sealed, "tags": {"__defaults": []}},
        )
    )
    res = stack_from_document(doc, "p.json").resources[0]
    assert "__defaults" not in res.props and res.props["tags"] == {}
    assert res.props["value"] == "hunter2"
    assert res.props["other"] is UNKNOWN  # an encrypted secret cannot be inspected: fail closed


@pytest.mark.parametrize(
    ("resource_region", "provider_region", "config_region", "arn", "expected", "how"),
    [
        ("cn-northwest-1", "cn-north-1", "us-east-1", None, "cn-northwest-1", "resource"),
        (None, "cn-north-1", "us-east-1", None, "cn-north-1", "provider"),
        (None, None, "cn-northwest-1", None, "cn-northwest-1", "config"),
        (None, None, None, "arn:aws-cn:sqs:cn-north-1:123456789012:q", "cn-north-1", "ARN"),
        (None, None, None, None, None, "none"),
        (UNKNOWN_SENTINEL, None, "cn-north-1", None, UNKNOWN, "unknown"),
    ],
)
def test_region_resolution_order(resource_region, provider_region, config_region, arn, expected, how):
    steps = []
    provider_ref = None
    if provider_region is not None:
        # Provider inputs arrive as strings, whatever the program wrote.
        steps.append(
            {
                "op": "same",
                "urn": PROVIDER_URN,
                "newState": {
                    "urn": PROVIDER_URN,
                    "type": "pulumi:providers:aws",
                    "custom": True,
                    "inputs": {"region": provider_region, "skipCredentialsValidation": "false"},
                },
            }
        )
        provider_ref = f"{PROVIDER_URN}::0f2c"
    inputs = {"name": "q"}
    if resource_region is not None:
        inputs["region"] = resource_region
    outputs = {"arn": arn} if arn else {}
    steps.append(step("create", "aws:sqs/queue:Queue", "q", inputs, provider=provider_ref, outputs=outputs))
    config = {"aws:region": config_region} if config_region else {}
    stack = stack_from_document(preview(*steps, config=config), "p.json")
    queue = stack.by_type["aws:sqs/queue:Queue"][0]
    assert queue.region == expected if expected is not UNKNOWN else queue.region is UNKNOWN
    if expected == "cn-north-1" or expected == "cn-northwest-1":
        assert queue.partition == "aws-cn"


@pytest.mark.parametrize(
    ("bucket_type", "side_type"),
    [
        (
            "aws:s3/bucketV2:BucketV2",
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        ),
        (
            "aws:s3/bucket:Bucket",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        ),
    ],
)
@pytest.mark.parametrize("join", ["property-dependency", "bucket-name"])
def test_side_resources_join_their_bucket_v6_and_v7(bucket_type, side_type, join):
    bucket_urn = f"{P}::{bucket_type}::data"
    deps = {"bucket": [bucket_urn]} if join == "property-dependency" else {}
    side_bucket = UNKNOWN_SENTINEL if join == "property-dependency" else "data-bucket"
    doc = preview(
        step("create", bucket_type, "data", {"bucket": "data-bucket"}),
        step("create", side_type, "data-sse", {"bucket": side_bucket, "rules": []}, deps=deps),
    )
    stack = stack_from_document(doc, "p.json")
    bucket = stack.by_urn[bucket_urn]
    assert [r.name for r in bucket.side["encryption"]] == ["data-sse"]
    assert bucket.side["encryption"][0].owner is bucket


def export(resources, version=3, pending=None):
    return {
        "version": version,
        "deployment": {"manifest": {}, "resources": resources, "pending_operations": pending or []},
    }


def test_stack_export_skips_deleted_and_pending_deletes():
    def r(name, **extra):
        return {
            "urn": f"{P}::aws:sqs/queue:Queue::{name}",
            "type": "aws:sqs/queue:Queue",
            "custom": True,
            "inputs": {},
            "outputs": {},
            **extra,
        }

    doc = export(
        [r("live"), r("old", delete=True), r("pending")],
        pending=[{"resource": r("pending"), "type": "deleting"}],
    )
    assert [x.name for x in stack_from_document(doc, "s.json").resources] == ["live"]


@pytest.mark.parametrize("version", [3, 4])
def test_stack_export_versions_3_and_4(version):
    doc = export(
        [{"urn": f"{P}::aws:sqs/queue:Queue::q", "type": "aws:sqs/queue:Queue", "custom": True}],
        version=version,
    )
    assert len(stack_from_document(doc, "s.json").resources) == 1


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (export([], version=2), "version 2 is not supported"),
        (export([], version=None), "version None is not supported"),
        ({"steps": []}, "no steps"),
        ({"steps": "nope"}, "'steps' is not a list"),
        ([], "JSON array"),
        ("text", "JSON scalar"),
        ({"hello": 1}, "neither"),
        ({"summary": {}, "findings": []}, "saved residency result"),
        ({"diagnostics": [{"message": "boom"}]}, "failed preview"),
        ({"steps": [{"op": "create"}]}, "step 0 has no 'op' and 'urn'"),
    ],
)
def test_bad_documents_raise_one_clear_input_error(doc, message):
    with pytest.raises(InputError, match=message):
        stack_from_document(doc, "in.json")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"   \n", "is empty"),
        (b'{"steps": [', "not valid JSON"),
        (bytes(range(256)) * 4, "binary"),
    ],
)
def test_undecodable_bytes(data, message):
    with pytest.raises(InputError, match=message):
        decode_json(data, "in.json")


def test_plan_file_goal_inputs_are_resources():
    doc = {
        "config": {"aws:region": "cn-north-1"},
        "resourcePlans": {
            f"{P}::aws:sqs/queue:Queue::q": {
                "goal": {
                    "type": "aws:sqs/queue:Queue",
                    "name": "q",
                    "custom": True,
                    "inputDiff": {"adds": {"name": "q", "kmsMasterKeyId": UNKNOWN_SENTINEL}},
                },
                "steps": ["create"],
                "state": {"id": ""},
            },
            f"{P}::aws:sqs/queue:Queue::gone": {"steps": ["delete"]},
        },
    }
    stack = stack_from_document(doc, "plan.json")
    (queue,) = stack.resources
    assert queue.region == "cn-north-1" and queue.props["kmsMasterKeyId"] is UNKNOWN


def test_json_roundtrip_of_bundled_example_is_a_preview():
    from policies.demo import EXAMPLES
    from policies.sources import detect

    doc = json.loads((EXAMPLES / "reference-compliant-preview.json").read_text())
    assert detect(doc, "x")[0] == "preview"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_byte_order_marks_and_utf16_from_powershell_are_read(encoding):
    text = json.dumps(preview(step("create", "aws:sqs/queue:Queue", "q", {"name": "q"})))
    assert decode_json(text.encode(encoding), "p.json")["steps"][0]["op"] == "create"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["newState"].update(provider=True), "'provider' must be a provider reference string"),
        (lambda s: s["newState"].update(inputs=[1, 2]), "'inputs' must be an object"),
        (lambda s: s["newState"].update(dependencies="urn:x"), "'dependencies' must be a list of URNs"),
        (lambda s: s.update(newState="oops"), "'newState' must be an object"),
    ],
)
def test_wrongly_typed_state_fields_name_the_step_and_field(mutate, message):
    one = step("create", "aws:sqs/queue:Queue", "q", {"name": "q"})
    mutate(one)
    with pytest.raises(InputError, match=message) as info:
        stack_from_document(preview(one), "p.json")
    assert "step 0" in str(info.value)


def test_backend_checkpoint_files_are_read_like_stack_exports():
    doc = {
        "version": 3,
        "checkpoint": {
            "stack": "dev",
            "latest": {"resources": [{"urn": f"{P}::aws:sqs/queue:Queue::q", "type": "aws:sqs/queue:Queue"}]},
        },
    }
    assert [r.name for r in stack_from_document(doc, "dev.json").resources] == ["q"]


def test_same_step_keeps_the_deployed_outputs_of_its_old_state():
    urn = f"{P}::aws:s3/bucket:Bucket::docs"
    old = {
        "urn": urn,
        "type": "aws:s3/bucket:Bucket",
        "inputs": {"bucket": "docs"},
        "outputs": {"bucket": "docs", "region": "eu-west-1", "arn": "arn:aws:s3:::docs"},
    }
    new = {"urn": urn, "type": "aws:s3/bucket:Bucket", "inputs": {"bucket": "docs"}}
    stack = stack_from_document(
        preview({"op": "same", "urn": urn, "oldState": old, "newState": new}), "p.json"
    )
    (bucket,) = stack.resources
    assert bucket.region == "eu-west-1"
