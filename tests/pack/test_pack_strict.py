"""`--policy-pack-config` strict switch: the pack fails what it does not understand, as `check --strict`."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from honesty import no_crash
from pack_harness import load_example, run_preview

from policies.pack_config import SETTINGS_POLICY

COMPLIANT = "reference-compliant-preview.json"
PFX = "urn:pulumi:prod::pushauction-data"
GCP_PROVIDER = f"{PFX}::pulumi:providers:gcp::default_8_0_0"
GCP_BUCKET = f"{PFX}::gcp:storage/bucket:Bucket::elsewhere"


def _doc_with_other_cloud_and_non_personal() -> dict[str, Any]:
    doc = copy.deepcopy(load_example(COMPLIANT))
    for step in doc["steps"]:
        tags = (step.get("newState") or {}).get("inputs", {}).get("tags")
        if isinstance(tags, dict) and tags.get("data-category") == "user-uploads":
            tags["data-category"] = "non-personal"
    doc["steps"] += [
        {
            "op": "create",
            "urn": GCP_PROVIDER,
            "newState": {
                "urn": GCP_PROVIDER,
                "type": "pulumi:providers:gcp",
                "custom": True,
                "inputs": {"region": "us-central1"},
            },
        },
        {
            "op": "create",
            "urn": GCP_BUCKET,
            "provider": f"{GCP_PROVIDER}::04da6b54-80e4-46f7-96ec-b56ff0331ba9",
            "newState": {
                "urn": GCP_BUCKET,
                "type": "gcp:storage/bucket:Bucket",
                "custom": True,
                "inputs": {"location": "US"},
                "provider": f"{GCP_PROVIDER}::04da6b54-80e4-46f7-96ec-b56ff0331ba9",
            },
        },
    ]
    return doc


@pytest.fixture
def strict(preview_pack):
    def apply(settings: dict[str, Any]) -> list[Any]:
        preview_pack.configure({SETTINGS_POLICY: settings})
        return no_crash(run_preview(preview_pack, _doc_with_other_cloud_and_non_personal()))

    yield apply
    preview_pack.configure({})


def _by_policy(diagnostics: list[Any], policy: str) -> dict[str, str]:
    return {urn: d.message for d, urn in diagnostics if d.policyName == policy}


def test_without_strict_the_pack_reports_neither_coverage_nor_attestations(strict):
    diagnostics = strict({})
    assert not _by_policy(diagnostics, "COV-001") and not _by_policy(diagnostics, "CLS-002")


def test_strict_pack_fails_the_other_clouds_resources_and_unattested_non_personal_tags(strict):
    diagnostics = strict({"strict": True})
    coverage = _by_policy(diagnostics, "COV-001")
    assert "provider package 'gcp' has no territory entry" in coverage[GCP_BUCKET]
    assert "provider package 'gcp' has no territory entry" in coverage[GCP_PROVIDER]
    attest = _by_policy(diagnostics, "CLS-002")
    assert attest and all("is declared `non-personal` by its resource tag" in m for m in attest.values())


def test_strict_pack_accepts_attestations_from_its_config(strict):
    attestation = {
        "urn": f"{PFX}::*",
        "category": "non-personal",
        "reason": "catalogue images only; reviewed by privacy",
        "owner": "privacy@pushauction.com",
        "expires": "2099-12-31",
    }
    diagnostics = strict({"strict": True, "attestations": [attestation]})
    assert not _by_policy(diagnostics, "CLS-002")
    expired = strict({"strict": True, "attestations": [{**attestation, "expires": "2020-01-01"}]})
    assert _by_policy(expired, "CLS-002")


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"strict": "yes"}, "strict: 'yes' is not true or false"),
        ({"attestations": {"urn": "x"}}, "attestations: give a list"),
        (
            {
                "attestations": [
                    {
                        "urn": "urn:pulumi:*",
                        "category": "public",
                        "reason": "long enough reason",
                        "owner": "me",
                        "expires": "2099-01-01",
                    }
                ]
            },
            "attestations[0].category: no data category 'public'",
        ),
        (
            {
                "attestations": [
                    {
                        "urn": "urn:pulumi:*",
                        "category": "non-personal",
                        "owner": "me",
                        "expires": "2099-01-01",
                    }
                ]
            },
            "attestations[0].reason",
        ),
    ],
)
def test_bad_strict_settings_name_the_key(raw, message):
    from policies.catalog import default_catalog
    from policies.errors import InputError
    from policies.pack_config import parse_settings_config
    from policies.registry import all_rules

    with pytest.raises(InputError, match=None) as err:
        parse_settings_config(raw, default_catalog().settings(), set(all_rules()))
    assert message in str(err.value)
