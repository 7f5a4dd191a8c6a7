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
from honesty import no_crash

from policies.check import run_check

MORE = Path(__file__).resolve().parent / "fixtures" / "pulumi-more"
FILES = sorted(MORE.glob("*.json"))


def _path(name: str) -> Path:
    path = MORE / name
    assert path.exists(), f"{name} is missing from {MORE}"
    return path


def _rules_by_name(name: str) -> tuple[object, dict[tuple[str, str], set[str]]]:
    result = no_crash(run_check([str(_path(name))]))
    by: dict[tuple[str, str], set[str]] = defaultdict(set)
    for f in result.findings:
        by[(f.type, f.name)].add(f.rule)
    return result, by


def _says(result: object, rule: str, name: str) -> str:
    """The one message `rule` has about the resource called `name`."""
    (message,) = [f.message for f in result.findings if f.rule == rule and f.name == name]
    return message


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
    no_crash(out)
    # The same through the library call the report command uses.
    result = no_crash(run_check([str(path)]))
    # Exit 1 exactly when there are findings (default --fail-on low, no waivers).
    assert proc.returncode == (1 if result.findings else 0)


# --- dundalek/stratify: a preview that deletes a Lambda event subscription ---------------------

DELETES = "dundalek-stratify-preview-deletes-aws6.json"


def test_deleted_resources_are_not_judged_only_the_surviving_bucket_is():
    result, by = _rules_by_name(DELETES)
    # 16 steps: the stack, the unchanged bucket `docs`, and 14 deletes (Lambda, role, attachments,
    # permission, notification, the subscription component). Only `docs` is still deployed.
    # Every surviving resource is accounted for: the bucket evaluated, the stack not applicable.
    assert [urn.rsplit("::", 1)[-1] for urn, _, _ in result.coverage.evaluated] == ["docs"]
    assert result.resources == 2 and len(result.coverage.not_applicable) == 1
    assert {name for (_, name) in by} == {"docs"}
    assert not any(t.startswith(("aws:lambda/", "aws:iam/")) for (t, _) in by)


def test_unchanged_bucket_outside_china_still_fails_residency():
    result, _ = _rules_by_name(DELETES)
    assert "Bucket 'docs' is in eu-west-1" in _says(result, "RES-001", "docs")
    assert "Bucket 'docs' uses sseAlgorithm 'AES256' (S3-managed keys)" in _says(result, "ENC-001", "docs")
    assert "Bucket 'docs' has no public access block" in _says(result, "ACC-001", "docs")


def test_same_step_takes_its_region_from_the_deployed_outputs():
    result = no_crash(run_check([str(_path(DELETES))]))
    message = _says(result, "RES-001", "docs")
    assert "is in eu-west-1 (from its deployed outputs)" in message, message


# --- iwahbe/repro-2555: an export after a failed update, SSM parameters with secret values ------

SSM = "iwahbe-repro-2555-state-5-ssm-secrets.json"


def test_provider_in_us_west_2_fails_and_global_arns_are_flagged():
    result, _ = _rules_by_name(SSM)
    provider = _says(result, "RES-002", "default_5_43_0")
    assert "AWS provider 'default_5_43_0' targets us-west-2" in provider, provider
    # The SSM document's content names an arn:aws IAM role, the role policy an arn:aws SSM document.
    document = _says(result, "RES-004", "nodeBuildRunbook-doc")
    assert "`content` names arn:aws:iam::616138583583:role/ssmAutomation-role" in document, document
    policy = _says(result, "RES-004", "eventBridge-nodeBuildRunbook-policy")
    assert "`policy` names arn:aws:ssm:us-west-2:616138583583:automation-definition/" in policy, policy


def test_secret_ciphertext_and_init_errors_do_not_break_the_export():
    result, by = _rules_by_name(SSM)
    # The provider, the role, two parameters, the document and the role policy, plus the stack.
    assert result.resources == 7
    assert len(result.coverage.evaluated) + len(result.coverage.not_evaluated) == 6
    # The role trusts only the SSM service: its trust policy is not a public-access finding.
    assert not by[("aws:iam/role:Role", "ssmAutomation-role")] & {"ACC-005", "ACC-003"}
    # No finding quotes the ciphertext of the secret parameter values as if it were data.
    assert not [f for f in result.findings if "AAABA" in f.message]


# --- pulumi/pulumi: a stack of component resources only ------------------------------------------


def test_components_only_stack_parses_and_passes():
    result = no_crash(run_check([str(_path("pulumi-aliases-rename-component-stack.json"))]))
    # Four component resources: each accounted for as not applicable, none evaluated.
    assert result.resources == 4
    assert len(result.coverage.not_applicable) == 4 and not result.coverage.evaluated
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
    result, _ = _rules_by_name("pulumi-aws-recorded-secretversion-stack.json")
    assert "Secret 'mySecret' is in us-west-2 (from its ARN)" in _says(result, "RES-001", "mySecret")
    # kmsKeyId "" is the AWS managed key.
    encryption = _says(result, "ENC-002", "mySecret")
    assert "is encrypted with the AWS managed key aws/secretsmanager" in encryption, encryption
    # The provider has no inputs at all (region from the environment): that fails closed.
    provider = _says(result, "RES-002", "default")
    assert "has no region and the stack config sets no `aws:region`" in provider, provider


def test_sns_topics_with_secret_tags_all_fail_residency_and_encryption():
    result, by = _rules_by_name("pulumi-aws-recorded-non-idempotent-sns-topic-state.json")
    for name in ("topic1", "topic2"):
        rules = by[("aws:sns/topic:Topic", name)]
        assert f"Topic '{name}' is in us-west-1 (from provider 'default')" in _says(result, "RES-001", name)
        assert f"Topic '{name}' is not encrypted at rest" in _says(result, "ENC-002", name)
        # SNS's default topic policy (Principal AWS:* with an AWS:SourceOwner condition) is not public.
        assert "ACC-003" not in rules


def test_log_group_kept_forever_without_cmk_fails_retention_and_encryption():
    result, _ = _rules_by_name("pulumi-aws-recorded-cloudwatch-loggroup-stack.json")
    assert "LogGroup 'yada' is in us-west-2 (from provider 'default')" in _says(result, "RES-001", "yada")
    assert "encrypted with the CloudWatch Logs service key" in _says(result, "ENC-002", "yada")
    retention = _says(result, "RET-003", "yada")
    assert "keeps its log events forever (retentionInDays is 0, never expire)" in retention, retention
