"""The operator's run records: one per reconcile, in a configured evidence location.

`residency controller --evidence LOCATION` takes a folder (a mounted volume, e.g. a PersistentVolume
at /var/lib/residency/evidence) or `s3://BUCKET/PREFIX` (in territory; the bucket's region is
`--evidence-region`, default the catalogue's first allowed region). Every reconcile appends a
hash-chained run record there (policies/evidence.py), and an erasure's manifest beside it, so
`residency verify-evidence` re-hashes it from a copy of the location. The record's name and sha256 go
to the resource's `status.evidence.runRecord` and to the log, so the cluster keeps a copy outside
the location.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.evidence import (
    InputDigest,
    S3Evidence,
    canonical_json,
    digest_input,
    enforce_record,
    parse_location,
    sha256_bytes,
)


@dataclass
class EvidenceSink:
    location: Path | S3Evidence

    @classmethod
    def for_config(cls, config: Any, clients: Any, default_region: str = "cn-north-1") -> EvidenceSink | None:
        """The sink `config.evidence` names, or None when the operator keeps no run records."""
        text = getattr(config, "evidence", None)
        if not text:
            return None
        parsed = parse_location(text)
        if isinstance(parsed, Path):
            return cls(parsed)
        bucket, prefix = parsed
        region = getattr(config, "evidence_region", None) or default_region
        return cls(S3Evidence(clients.client("s3", region), bucket, prefix))

    def reconciled(self, kind: str, raw: dict[str, Any], result: Any) -> dict[str, str]:
        """Write the manifest (if any) and the run record of one reconcile; return what the status keeps."""
        meta = raw.get("metadata") or {}
        name = f"{meta.get('namespace', '')}/{kind}/{meta.get('name', '')}"
        # The input is the custom resource as reconciled: its identity, generation and spec.
        document = {
            "apiVersion": raw.get("apiVersion"),
            "kind": kind,
            "metadata": {k: meta.get(k) for k in ("namespace", "name", "uid", "generation")},
            "spec": raw.get("spec") or {},
        }
        inputs: list[InputDigest] = [digest_input(name, canonical_json(document), "custom-resource")]
        manifests = []
        if result.manifest is not None and result.evidence:
            manifests.append(self._store_manifest(result))
        written = enforce_record(
            self.location,
            results=[result],
            dry_run=False,
            inputs=inputs,
            manifests=manifests,
            command="controller",
        )
        return {"name": written.path.name, "sha256": written.sha256, "location": str(self.location)}

    def _store_manifest(self, result: Any) -> dict[str, str]:
        from controllers.manifest import object_key, write_dir

        data: bytes = result.manifest
        sha = sha256_bytes(data)
        if isinstance(self.location, S3Evidence):
            key = object_key("", result.name, sha)
            self.location.put(key, data, "application/x-ndjson")
            return {"file": key, "sha256": sha}
        path = write_dir(self.location, result.name, result.finished or result.started, data)
        return {"file": path.name, "sha256": sha}
