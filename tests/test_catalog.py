"""The controls catalogue an auditor reads: verbatim clauses, full coverage, validated at load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from paths import ROOT

from policies.catalog import DEFAULT_CATALOG, default_catalog, load_catalog
from policies.errors import InputError
from policies.registry import all_rules

POLICY = ROOT.parent / "shared" / "seed" / "privacy-policy.txt"
OBLIGATION = re.compile(
    r"\b(we will|we try|we provide|we endeavor|we take|we have established|you can|"
    r"you may access|we may change|we may disclose|we may update)\b",
    re.I,
)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2022", " ")).strip()


@pytest.fixture(scope="module")
def policy_text() -> str:
    if not POLICY.exists():
        pytest.skip("privacy policy not beside the checkout")
    return _norm(POLICY.read_text(encoding="utf-8"))


def test_every_quoted_clause_is_verbatim_from_the_policy(policy_text):
    catalog = default_catalog()
    for item in [*catalog.controls, *catalog.categories]:
        assert _norm(item.clause) in policy_text, f"{item.id}: clause is not a verbatim quote"


def test_every_obligation_sentence_is_covered_by_a_control(policy_text):
    catalog = default_catalog()
    clauses = [_norm(c.clause) for c in catalog.controls] + [_norm(c.clause) for c in catalog.categories]
    sentences = re.split(r"(?<=[.;])\s+", policy_text)
    missing = []
    for sentence in sentences:
        match = OBLIGATION.search(sentence)
        if match is None:
            continue
        # A sentence may start with a section heading; the obligation starts at the match.
        obligation = sentence[match.start() :]
        if not any(c in obligation or obligation in c for c in clauses):
            missing.append(obligation)
    assert not missing, missing


def test_rules_and_controls_agree():
    catalog = default_catalog()
    catalog.check_rules(set(all_rules()))
    mapping = catalog.rule_controls()
    assert set(mapping) == set(all_rules())


def test_organisational_controls_give_reasons_and_technical_ones_rules():
    for control in default_catalog().controls:
        if control.kind == "organisational":
            assert control.reason and not control.rules
        elif control.kind == "technical":
            assert control.rules


def test_categories_match_the_policy_and_logs_keep_180_days():
    settings = default_catalog().settings()
    expected = {
        "account-registration",
        "user-uploads",
        "server-logs",
        "preference-settings",
        "crash-diagnostics",
        "cookies",
    }
    assert expected <= set(settings.categories)
    assert settings.categories["server-logs"].min_retention_days == 180
    assert settings.categories["audit-logs"].min_retention_days == 180
    for cid in expected:
        c = settings.categories[cid]
        assert c.in_territory and c.personal and c.max_retention_days
    assert settings.untagged.in_territory and settings.untagged.personal


def _mutate(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(DEFAULT_CATALOG.read_text())
    edit(data)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["territory"].update(allowed_regions=["mars-north-1x"]), "allowed_regions"),
        (lambda d: d["controls"][0].update(rules=[]), "technical control lists the rules"),
        (lambda d: d["controls"][-1].pop("reason"), "organisational control gives the reason"),
        (lambda d: d["controls"][0].update(categories=["pets"]), "unknown category 'pets'"),
        (lambda d: d["categories"][2]["min_retention_days"].update(days=900), "min_retention_days"),
        (
            lambda d: d["categories"][0].update(max_retention_days=1095),
            "max_retention_days: 1095 days has no source",
        ),
        (lambda d: d["categories"][0]["max_retention_days"].pop("source"), "max_retention_days.source"),
        (
            lambda d: d["categories"][0]["max_retention_days"].pop("owner"),
            "internal decision names its owner",
        ),
        (lambda d: d["classification"].update(untagged="nope"), "classification.untagged"),
        (lambda d: d["controls"].append(dict(d["controls"][0])), "duplicate ids"),
        (lambda d: d.update(version=2), "version"),
        (lambda d: d["categories"][0].update(aliases=["cookies"]), "names more than one category"),
    ],
)
def test_bad_catalogues_name_the_field(tmp_path, edit, message):
    with pytest.raises(InputError, match=re.escape(message)):
        load_catalog(_mutate(tmp_path, edit))


def test_catalogue_naming_a_missing_rule_is_refused(tmp_path):
    catalog = load_catalog(_mutate(tmp_path, lambda d: d["controls"][0]["rules"].append("RES-999")))
    with pytest.raises(InputError, match="RES-999"):
        catalog.check_rules(set(all_rules()))


def test_stricter_catalogue_changes_the_verdict(tmp_path):
    from policies.check import run_check
    from policies.demo import EXAMPLES

    path = _mutate(tmp_path, lambda d: d["territory"].update(allowed_regions=["cn-northwest-1"]))
    result = run_check([str(EXAMPLES / "reference-compliant-preview.json")], catalog_path=path)
    assert any(f.rule == "RES-001" for f in result.findings)
