"""OSCAL: the catalogue as a component-definition, each run as assessment-results (compliance-trestle).

- `component-definition.json`: one component (residency) whose control implementation lists every
  control of the catalogue: its clause, kind, rules (`Rule_Id` props) or the organisational reason,
  with the catalogue and the privacy-policy text in back-matter with their sha256.
- `assessment-results-<UTC time>.json`: one result per run: every control as a finding whose target
  status is satisfied (passed) or not-satisfied (failed, or not evaluated: fail closed); organisational
  controls carry no status and say why; every rule-on-resource verdict as an observation; the run
  metadata (tool, catalogue and policy sha256, commit, input digests) as props.

compliance-trestle is imported here only (the `oscal` extra), never on the `check` path.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policies.errors import InputError

if TYPE_CHECKING:
    from policies.catalog import Catalog
    from policies.engine import Result
    from policies.evidence import RunMetadata
    from policies.registry import Rule

#: Namespace of the props this tool defines (an identifier, never fetched).
NS = "https://pushauction.com/ns/oscal/residency"
COMPONENT_DEFINITION = "component-definition.json"
#: Stable ids: the same catalogue gives the same component uuids.
_UUID_NS = uuid.UUID("6f1c7a52-43a5-4a8f-9a3e-1c2f8f0b6d11")


def _stable(*parts: str) -> str:
    return str(uuid.uuid5(_UUID_NS, "/".join(parts)))


def _trestle() -> Any:
    try:
        from trestle.oscal import assessment_results, common, component
    except ImportError as exc:
        raise InputError(
            f"--oscal needs compliance-trestle ({exc.name} is missing): pip install 'residency[oscal]'"
        ) from None
    return common, component, assessment_results


def _prop(common: Any, name: str, value: Any, remarks: str | None = None) -> Any:
    return common.Property(name=name, value=str(value), ns=NS, remarks=remarks)


def _metadata(common: Any, title: str, version: str, when: Any) -> Any:
    from trestle.oscal import OSCAL_VERSION

    return common.Metadata(title=title, last_modified=when, version=version, oscal_version=OSCAL_VERSION)


def _back_matter(common: Any, metadata: RunMetadata) -> Any:
    resources = [
        common.Resource(
            uuid=_stable("catalogue", metadata.catalog_sha256),
            title=f"Controls catalogue (version {metadata.catalog_version})",
            rlinks=[
                common.Rlink(
                    href=Path(metadata.catalog_path).name,
                    media_type="application/yaml",
                    hashes=[common.Hash(algorithm="SHA-256", value=metadata.catalog_sha256)],
                )
            ],
        )
    ]
    if metadata.policy_sha256:
        resources.append(
            common.Resource(
                uuid=_stable("policy", metadata.policy_sha256),
                title=metadata.policy_title,
                rlinks=[
                    common.Rlink(
                        href=metadata.policy_document,
                        media_type="text/plain",
                        hashes=[common.Hash(algorithm="SHA-256", value=metadata.policy_sha256)],
                    )
                ],
            )
        )
    else:
        resources.append(
            common.Resource(
                uuid=_stable("policy", metadata.policy_document),
                title=metadata.policy_title,
                remarks=metadata.policy_note,
            )
        )
    return common.BackMatter(resources=resources)


def component_definition(catalog: Catalog, rules: dict[str, Rule], metadata: RunMetadata) -> Any:
    """The catalogue as an OSCAL component-definition (a trestle model)."""
    common, component, _ = _trestle()
    requirements = []
    for control in catalog.controls:
        props = [_prop(common, "control_kind", control.kind)]
        props += [_prop(common, "Rule_Id", rule_id) for rule_id in control.rules]
        props += [_prop(common, "runtime_resource", kind) for kind in control.runtime]
        props += [_prop(common, "data_category", category) for category in control.categories]
        description = f"{control.title}. Clause ({control.section}): \u201c{control.clause}\u201d"
        remarks = None
        if control.kind == "organisational":
            remarks = f"Organisational control, no technical check: {control.reason}"
        elif control.rules:
            remarks = "Checked by: " + "; ".join(
                f"{r} {rules[r].title}" if r in rules else r for r in control.rules
            )
        requirements.append(
            component.ImplementedRequirement(
                uuid=_stable("requirement", control.id),
                control_id=control.id,
                description=description,
                props=props,
                remarks=remarks,
            )
        )
    implementation = component.ControlImplementation(
        uuid=_stable("implementation", metadata.catalog_sha256),
        source=Path(metadata.catalog_path).name,
        description=f"Controls of {catalog.policy.title}, from the residency controls catalogue",
        props=[_prop(common, "catalog_sha256", metadata.catalog_sha256)],
        implemented_requirements=requirements,
    )
    defined = component.DefinedComponent(
        uuid=_stable("component", "residency"),
        type="software",
        title="residency",
        description=(
            "Data-residency and privacy compliance for Pulumi stacks in the AWS China partition: policy rules "
            "(residency check, CrossGuard) and run-time reconcilers (residency enforce, the controller)."
        ),
        props=[_prop(common, "tool_version", metadata.tool_version)],
        control_implementations=[implementation],
    )
    return component.ComponentDefinition(
        uuid=_stable("component-definition", metadata.catalog_sha256),
        metadata=_metadata(
            common,
            f"residency controls for {catalog.policy.title}",
            f"catalogue-{catalog.version}",
            metadata.time,
        ),
        components=[defined],
        back_matter=_back_matter(common, metadata),
    )


def assessment_results(
    result: Result, rules: dict[str, Rule], catalog: Catalog, metadata: RunMetadata
) -> Any:
    """One run as OSCAL assessment-results (a trestle model)."""
    from policies.reports.auditor import FAILED, NOT_EVALUATED, ORGANISATIONAL, PASSED, build

    common, _, ar = _trestle()
    view = build(result, rules, catalog, metadata)
    when = metadata.time.astimezone(UTC)
    run_id = f"{metadata.catalog_sha256}/{when.isoformat()}/{','.join(i.sha256 for i in metadata.inputs)}"
    observations = []
    observation_ids: dict[str, list[str]] = {}
    for control in view.controls:
        for rule_view in control.rules:
            for verdict in rule_view.resources:
                oid = _stable("observation", run_id, control.id, rule_view.id, verdict.urn)
                observation_ids.setdefault(control.id, []).append(oid)
                text = f"{rule_view.id} {rule_view.title}: {verdict.status} on {verdict.urn}"
                if verdict.detail:
                    text += f": {verdict.detail}"
                observations.append(
                    common.Observation(
                        uuid=oid,
                        title=f"{rule_view.id} {verdict.status}: {verdict.name}",
                        description=text,
                        props=[
                            _prop(common, "Rule_Id", rule_view.id),
                            _prop(common, "control_id", control.id),
                            _prop(common, "resource_urn", verdict.urn),
                            _prop(common, "resource_type", verdict.type),
                            _prop(common, "verdict", verdict.status),
                        ],
                        methods=["TEST"],
                        collected=when,
                        remarks=verdict.note or None,
                    )
                )
    findings = []
    for control in view.controls:
        status = None
        if control.status == PASSED:
            status = common.ObjectiveStatus(state="satisfied", reason="pass")
        elif control.status == FAILED:
            status = common.ObjectiveStatus(state="not-satisfied", reason="fail")
        elif control.status == NOT_EVALUATED:
            status = common.ObjectiveStatus(
                state="not-satisfied", reason="other", remarks=f"not evaluated: {control.reason}"
            )
        remarks = control.reason or None
        if control.status == ORGANISATIONAL:
            remarks = f"Organisational control, no technical check: {control.reason}"
        related = [ar_related(common, oid) for oid in observation_ids.get(control.id, [])]
        findings.append(
            common.Finding(
                uuid=_stable("finding", run_id, control.id),
                title=f"{control.id} {control.title}: {control.status}",
                description=f"\u201c{control.clause}\u201d",
                props=[_prop(common, "control_status", control.status)],
                target=common.FindingTarget(
                    type="statement-id", target_id=f"{control.id}_smt", status=status, remarks=remarks
                ),
                related_observations=related or None,
            )
        )
    props = [
        _prop(common, "verdict", view.verdict),
        _prop(common, "tool_version", metadata.tool_version),
        _prop(common, "catalog_version", metadata.catalog_version),
        _prop(common, "catalog_sha256", metadata.catalog_sha256),
        _prop(
            common,
            "policy_sha256",
            metadata.policy_sha256 or "not found",
            None if metadata.policy_sha256 else metadata.policy_note,
        ),
    ]
    if metadata.git_commit:
        props.append(_prop(common, "git_commit", metadata.git_commit))
    props += [
        _prop(common, "input_sha256", i.sha256, f"{i.name} ({i.kind}, {i.size} bytes)")
        for i in metadata.inputs
    ]
    oscal_result = ar.Result(
        uuid=_stable("result", run_id),
        title=f"residency check of {catalog.policy.title}: {view.verdict}",
        description=(
            f"{len(result.coverage.evaluated)} of {result.resources} resources evaluated; "
            f"{result.summary()['findings']} open findings, {result.summary()['waived']} waived"
        ),
        start=when,
        end=when,
        props=props,
        reviewed_controls=common.ReviewedControls(
            control_selections=[common.ControlSelectionsAll(include_all={})]
        ),
        observations=observations or None,
        findings=findings,
    )
    return ar.AssessmentResults(
        uuid=_stable("assessment-results", run_id),
        metadata=_metadata(
            common, f"residency assessment results: {catalog.policy.title}", metadata.tool_version, when
        ),
        import_ap=ar.ImportAp(
            href=COMPONENT_DEFINITION,
            remarks="No separate assessment plan: the catalogue's component-definition names what is assessed.",
        ),
        results=[oscal_result],
        back_matter=_back_matter(common, metadata),
    )


def ar_related(common: Any, observation_uuid: str) -> Any:
    return common.RelatedObservation(observation_uuid=observation_uuid)


def write_oscal(
    directory: Path, result: Result, rules: dict[str, Rule], catalog: Catalog, metadata: RunMetadata
) -> list[Path]:
    """Write the component-definition and this run's assessment-results into `directory`."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        definition = directory / COMPONENT_DEFINITION
        component_definition(catalog, rules, metadata).oscal_write(definition)
        stamp = metadata.time.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        results = directory / f"assessment-results-{stamp}.json"
        assessment_results(result, rules, catalog, metadata).oscal_write(results)
    except OSError as exc:
        raise InputError(f"cannot write OSCAL: {exc.strerror or exc}", source=str(directory)) from None
    return [definition, results]
