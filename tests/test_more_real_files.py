"""More real `pulumi preview --json` and `pulumi stack export` files from public repositories.

They add shapes the shared fixtures lack: a preview whose steps are mostly deletes, exports whose
outputs hold secret ciphertext (`4dabf181...` objects), an export with `initErrors` after a failed
update, a stack of component resources only, an export with no `resources` key at all, and a
CloudWatch log group kept forever. Sources: tests/fixtures/pulumi-more/SOURCES.md.

Every file parses through the CLI (exit 0 or 1, never 2) and no rule crashes on it; each file then
gets the verdicts a user would expect from it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from policies.check import run_check

MORE = Path(__file__).resolve().parent / "fixtures" / "pulumi-more"
FILES = sorted(MORE.glob("*.json"))


def _path(name: str) -> Path:
    path = MORE / name
    assert path.exists(), f"{name} is missing from {MORE}"
    return path


def _rules_by_name(name: str) -> tuple[object, dict[tuple[str, str], set[str]]]:
    result = run_check([str(_path(name))])
    by: dict[tuple[str, str], set[str]] = defaultdict(set)
    for f in result.findings:
        by[(f.type, f.name)].add(f.rule)
    return result, by


def _cli(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "policies.cli", "check", str(path), "--format", "json"],
        capture_output=True,
        timeout=120,
    )


def test_the_folder_holds_the_files_sources_md_lists():
    sources = (MORE / "SOURCES.md").read_text(encoding="utf-8")
    assert len(FILES) >= 6
    for path in FILES:
        assert f"| {path.name} |" in sources, f"{path.name} is not in SOURCES.md"
    assert sum(p.stat().st_size for p in MORE.iterdir()) < 2 * 1024 * 1024


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_real_file_parses_and_no_rule_crashes(path):
    proc = _cli(path)
    err = proc.stderr.decode()
    assert proc.returncode in (0, 1), (proc.returncode, err)
    assert "Traceback" not in err
    out = json.loads(proc.stdout)
    assert set(out) >= {"summary", "findings"}
    assert out["summary"]["findings"] == len(out["findings"])
    crashed = [f["message"] for f in out["findings"] if "could not be checked" in f["message"]]
    assert not crashed, crashed
    # The same through the library call the report command uses.
    result = run_check([str(path)])
    assert not [f for f in result.findings if "could not be checked" in f.message]
    # Exit 1 exactly when there are findings (default --fail-on low, no waivers).
    assert proc.returncode == (1 if result.findings else 0)


# --- dundalek/stratify: a preview that deletes a Lambda event subscription ---------------------

DELETES = "dundalek-stratify-preview-deletes-aws6.json"


def test_deleted_resources_are_not_judged_only_the_surviving_bucket_is():
    result, by = _rules_by_name(DELETES)
    # 16 steps: the stack, the unchanged bucket `docs`, and 14 deletes (Lambda, role, attachments,
    # permission, notification, the subscription component). Only `docs` is still deployed.
    assert result.resources == 1
    assert {name for (_, name) in by} == {"docs"}
    assert not any(t.startswith(("aws:lambda/", "aws:iam/")) for (t, _) in by)


def test_unchanged_bucket_outside_china_still_fails_residency():
    _, by = _rules_by_name(DELETES)
    rules = by[("aws:s3/bucket:Bucket", "docs")]
    assert {"RES-001", "ENC-001", "ACC-001"} <= rules


def test_same_step_takes_its_region_from_the_deployed_outputs():
    result = run_check([str(_path(DELETES))])
    (res,) = [f for f in result.findings if f.rule == "RES-001" and f.name == "docs"]
    assert "eu-west-1" in res.message, res.message


# --- iwahbe/repro-2555: an export after a failed update, SSM parameters with secret values ------

SSM = "iwahbe-repro-2555-state-5-ssm-secrets.json"


def test_provider_in_us_west_2_fails_and_global_arns_are_flagged():
    result, by = _rules_by_name(SSM)
    assert "RES-002" in by[("pulumi:providers:aws", "default_5_43_0")]
    # The SSM document's content names an arn:aws IAM role, the role policy an arn:aws SSM document.
    assert "RES-004" in by[("aws:ssm/document:Document", "nodeBuildRunbook-doc")]
    assert "RES-004" in by[("aws:iam/rolePolicy:RolePolicy", "eventBridge-nodeBuildRunbook-policy")]


def test_secret_ciphertext_and_init_errors_do_not_break_the_export():
    result, by = _rules_by_name(SSM)
    # stack excluded: the provider, the role, two parameters, the document and the role policy.
    assert result.resources == 6
    # The role trusts only the SSM service: its trust policy is not a public-access finding.
    assert not by[("aws:iam/role:Role", "ssmAutomation-role")] & {"ACC-005", "ACC-003"}
    # No finding quotes the ciphertext of the secret parameter values as if it were data.
    assert not [f for f in result.findings if "AAABA" in f.message]


# --- pulumi/pulumi: a stack of component resources only ------------------------------------------


def test_components_only_stack_parses_and_passes():
    result = run_check([str(_path("pulumi-aliases-rename-component-stack.json"))])
    assert result.resources == 0
    assert result.findings == []


# --- pranavk1511: `pulumi stack export` of a stack with no resources (no `resources` key) -----------


def test_export_without_resources_key_is_an_empty_stack_not_bad_input():
    path = _path("pranavk1511-csye6225-empty-stack-export.json")
    assert "resources" not in json.loads(path.read_text())["deployment"]
    proc = _cli(path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["summary"]["resources"] == 0


# --- pulumi/pulumi-aws recorded upgrade tests ---------------------------------------------------


def test_secret_version_export_judges_the_secret_by_its_arn_region():
    result, by = _rules_by_name("pulumi-aws-recorded-secretversion-stack.json")
    secret = by[("aws:secretsmanager/secret:Secret", "mySecret")]
    assert {"RES-001", "ENC-002"} <= secret  # us-west-2 by ARN; kmsKeyId "" = AWS managed key
    (res,) = [f for f in result.findings if f.rule == "RES-001" and f.name == "mySecret"]
    assert "us-west-2" in res.message
    # The provider has no inputs at all (region from the environment): that fails closed.
    assert "RES-002" in by[("pulumi:providers:aws", "default")]


def test_sns_topics_with_secret_tags_all_fail_residency_and_encryption():
    _, by = _rules_by_name("pulumi-aws-recorded-non-idempotent-sns-topic-state.json")
    for name in ("topic1", "topic2"):
        rules = by[("aws:sns/topic:Topic", name)]
        assert {"RES-001", "ENC-002"} <= rules, (name, rules)
        # SNS's default topic policy (Principal AWS:* with an AWS:SourceOwner condition) is not public.
        assert "ACC-003" not in rules


def test_log_group_kept_forever_without_cmk_fails_retention_and_encryption():
    result, by = _rules_by_name("pulumi-aws-recorded-cloudwatch-loggroup-stack.json")
    rules = by[("aws:cloudwatch/logGroup:LogGroup", "yada")]
    assert {"RES-001", "ENC-002", "RET-003"} <= rules
    (res,) = [f for f in result.findings if f.rule == "RES-001" and f.name == "yada"]
    assert "us-west-2" in res.message
