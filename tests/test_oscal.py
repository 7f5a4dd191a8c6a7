"""OSCAL export: written with compliance-trestle's models and loaded back through trestle."""

from __future__ import annotations

import subprocess
import sys

import pytest

from policies.catalog import default_catalog
from policies.demo import EXAMPLES

pytest.importorskip("trestle", reason="compliance-trestle is in the oscal and dev extras")

NONCOMPLIANT = EXAMPLES / "global-template-preview.json"


def test_report_writes_oscal_that_trestle_loads_back(tmp_path):
    from trestle.oscal.assessment_results import AssessmentResults
    from trestle.oscal.component import ComponentDefinition

    out = tmp_path / "oscal"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "policies.cli",
            "report",
            str(NONCOMPLIANT),
            "--output",
            str(tmp_path / "r.md"),
            "--oscal",
            str(out),
        ],
        capture_output=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    catalog = default_catalog()
    ids = [c.id for c in catalog.controls]

    definition = ComponentDefinition.oscal_read(out / "component-definition.json")
    (component,) = definition.components
    requirements = component.control_implementations[0].implemented_requirements
    assert [r.control_id for r in requirements] == ids
    by_id = {r.control_id: r for r in requirements}
    for control in catalog.controls:
        rule_props = [p.value for p in by_id[control.id].props or [] if p.name == "Rule_Id"]
        assert rule_props == control.rules
        assert control.clause in by_id[control.id].description
        if control.kind == "organisational":
            assert control.reason in by_id[control.id].remarks

    (results_file,) = out.glob("assessment-results-*.json")
    results = AssessmentResults.oscal_read(results_file)
    (run,) = results.results
    findings = {f.target.target_id.removesuffix("_smt"): f for f in run.findings}
    assert list(findings) == ids
    state = {k: (f.target.status.state.value if f.target.status else None) for k, f in findings.items()}
    assert state["CN-RES-1"] == "not-satisfied"
    assert all(state[c.id] is None for c in catalog.controls if c.kind == "organisational")
    props = {p.name: p.value for p in run.props}
    assert props["verdict"] == "FAIL" and len(props["catalog_sha256"]) == 64
    assert run.observations and all(o.methods == ["TEST"] for o in run.observations)
