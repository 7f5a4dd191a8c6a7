"""CLS-001: every data store names the category of data it holds."""

from __future__ import annotations

from typing import Any

import pytest
from builders import messages, res
from honesty import check, evaluate

from policies.catalog import default_catalog
from policies.model import UNKNOWN_SENTINEL as U
from policies.registry import all_rules
from policies.sources.state import resource_from_state
from policies.stack import Stack

VALID_IDS = ", ".join(sorted(c.id for c in default_catalog().categories))

STORES = [
    ("aws:s3/bucketV2:BucketV2", {"bucket": "uploads"}),
    ("aws:s3/bucket:Bucket", {"bucket": "uploads"}),
    ("aws:dynamodb/table:Table", {"name": "accounts"}),
    ("aws:rds/instance:Instance", {"engine": "postgres"}),
    ("aws:cloudwatch/logGroup:LogGroup", {"name": "/app"}),
]


def store(type_: str, inputs: dict[str, Any], tags: Any = None) -> Any:
    if tags is not None:
        inputs = {**inputs, "tags": tags}
    return res(type_, "store", inputs)


@pytest.mark.parametrize("type_, inputs", STORES)
@pytest.mark.parametrize("category", ["user-uploads", "non-personal", " server-logs "])
def test_cls001_known_category_passes(type_, inputs, category):
    assert not check("CLS-001", store(type_, inputs, {"data-category": category, "team": "x"})).findings


@pytest.mark.parametrize("type_, inputs", STORES)
def test_cls001_missing_tag_fails_and_explains_the_fail_safe(type_, inputs):
    result = check("CLS-001", store(type_, inputs, {"team": "shop"}))
    assert len(result.findings) == 1, messages(result)
    message = result.findings[0].message
    assert "no `data-category` tag" in message
    assert "unclassified personal data collected in mainland China" in message and "strictest" in message
    assert VALID_IDS in message


def test_cls001_untagged_without_tags_input_fails():
    (finding,) = check("CLS-001", store("aws:s3/bucketV2:BucketV2", {"bucket": "b"})).findings
    assert "BucketV2 'store' has no `data-category` tag" in finding.message


def test_cls001_unknown_category_value_fails_naming_the_value():
    result = check("CLS-001", store("aws:dynamodb/table:Table", {}, {"data-category": "pii"}))
    (finding,) = result.findings
    assert "`data-category: pii`" in finding.message and "not a known data category" in finding.message
    assert VALID_IDS in finding.message and not finding.unknown


@pytest.mark.parametrize("tags", [U, {"data-category": U}])
def test_cls001_unknown_tags_are_unknown(tags):
    result = check("CLS-001", store("aws:s3/bucketV2:BucketV2", {"bucket": "b"}, tags))
    assert result.findings and all(f.unknown for f in result.findings), messages(result)


def test_cls001_known_tags_all_output_counts():
    """After apply (stack export) a resource without `tags` input still reports `tagsAll`."""
    bucket = res(
        "aws:s3/bucketV2:BucketV2", "b", {"bucket": "b"}, outputs={"tagsAll": {"data-category": "cookies"}}
    )
    assert not check("CLS-001", bucket).findings


@pytest.mark.parametrize(
    "type_",
    [
        "aws:kms/key:Key",
        "aws:ebs/snapshotCopy:SnapshotCopy",
        "aws:iam/role:Role",
        "aws:rds/clusterInstance:ClusterInstance",
    ],
)
def test_cls001_ignores_resources_classified_through_what_they_protect(type_):
    assert not check("CLS-001", res(type_, "x", {})).findings


def _stack_with_default_tags(tags: Any, resource: Any) -> Stack:
    provider = resource_from_state(
        {
            "urn": "urn:pulumi:prod::shop::pulumi:providers:aws::cn",
            "type": "pulumi:providers:aws",
            "inputs": {"region": "cn-north-1", "defaultTags": {"tags": tags}},
        }
    )
    return Stack.build([provider, resource], settings=default_catalog().settings())


def test_cls001_provider_default_tag_classifies_the_store():
    bucket = store("aws:s3/bucketV2:BucketV2", {"bucket": "b"})
    stack = _stack_with_default_tags({"data-category": "user-uploads"}, bucket)
    assert not evaluate(stack, [all_rules()["CLS-001"]]).findings
    assert stack.settings.category_of(bucket.tags).id == "user-uploads"


def test_cls001_provider_default_tag_with_a_bad_value_is_named():
    bucket = store("aws:s3/bucketV2:BucketV2", {"bucket": "b"})
    stack = _stack_with_default_tags({"data-category": "photos"}, bucket)
    (finding,) = evaluate(stack, [all_rules()["CLS-001"]]).findings
    assert "photos" in finding.message


def test_cls001_unknown_provider_default_tag_is_unknown():
    bucket = store("aws:s3/bucketV2:BucketV2", {"bucket": "b"})
    stack = _stack_with_default_tags({"data-category": U}, bucket)
    (finding,) = evaluate(stack, [all_rules()["CLS-001"]]).findings
    assert finding.unknown


@pytest.mark.parametrize(
    ("tags", "category"),
    [
        ({"data-category": "user-uploads"}, "user-uploads"),
        ({"DataCategory": "cookies"}, "cookies"),
        ({"Data-Classification": "Crash-Diagnostics"}, "crash-diagnostics"),
        ({"classification": "registration"}, "account-registration"),
        ({"data-category": "uploads"}, "user-uploads"),
        ({"data-category": "photos"}, "unclassified"),
        ({"owner": "team-a"}, "unclassified"),
    ],
)
def test_tag_key_and_value_aliases_resolve_to_the_catalogue_category(tags, category):
    from policies.catalog import default_catalog

    settings = default_catalog().settings()
    assert settings.category_of(tags).id == category
    findings = check("CLS-001", store("aws:s3/bucketV2:BucketV2", {"bucket": "b", "tags": tags})).findings
    assert bool(findings) is (category == "unclassified")
    if findings:
        # The finding says which tag it read: the bad value, or that there is none.
        value = tags.get("data-category")
        expected = f"`data-category: {value}`, which is not a known" if value else "no `data-category` tag"
        assert expected in findings[0].message, findings[0].message
