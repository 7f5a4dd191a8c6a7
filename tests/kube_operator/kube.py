"""A Kubernetes API emulator on 127.0.0.1 for the operator tests: kmock, in a thread, over HTTP.

kmock's `KubernetesEmulator` keeps objects in memory and serves list/watch/get/create/patch/delete.
It does not play the API server's bookkeeping, which kopf relies on, so `ApiServer` adds the part
kopf needs: a fresh `resourceVersion` on every write (kopf ignores the echo of its own patches by
it), `uid`/`creationTimestamp`/`generation` on create, `generation` + 1 when `spec` changes, and a
name for objects posted with `generateName` (kopf's Events). The custom resources, kopf's peering
resources, Events and namespaces are declared for discovery. Tests talk to it with plain HTTP.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import attrs
import kmock

GROUP, VERSION = "residency.pushauction.com", "v1alpha1"
API = f"{GROUP}/{VERSION}"
PLURALS = {
    "RetentionPolicy": "retentionpolicies",
    "AccessAuditPolicy": "accessauditpolicies",
    "ErasureRequest": "erasurerequests",
    "AccessRequest": "accessrequests",
}
RW = {"list", "watch", "get", "patch", "create", "delete", "update"}


@attrs.define(kw_only=True)
class ApiServer(kmock.KubernetesEmulator):
    _versions: Any = attrs.field(factory=lambda: itertools.count(1), init=False)
    #: (verb, "group/plural[/subresource]", name) of every request the operator (kopf) made.
    calls: list[tuple[str, str, str | None]] = attrs.field(factory=list, init=False)

    async def _handle(self, request: Any) -> Any:  # type: ignore[override]
        # kopf's requests and the operator's own PolicyReport writes (controllers/policy_reports.py).
        kopf = str(request.headers.get("User-Agent", "")).startswith(("kopf/", "residency/"))
        if kopf and request.resource is not None and request.resource.plural:  # not discovery
            plural = f"{request.resource.group}/{request.resource.plural}"
            plural += f"/{request.subresource}" if request.subresource else ""
            action = request.action.value if request.action else ""
            verb = {"PATCH": "patch", "PUT": "update"}.get(request.method.value) or (
                "get" if action == "FETCH" else action.lower()
            )
            self.calls.append((verb, plural, request.name))
        data = request.data if isinstance(request.data, dict) else None
        if request.resource is not None and data is not None:
            meta = data.setdefault("metadata", {})
            if request.action == kmock.action.CREATE:
                if not meta.get("name") and meta.get("generateName"):
                    meta["name"] = meta["generateName"] + uuid.uuid4().hex[:8]
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("generation", 1)
                meta.setdefault(
                    "creationTimestamp",
                    datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                )
                meta["resourceVersion"] = str(next(self._versions))
            elif request.action == kmock.action.UPDATE and request.name is not None:
                if "spec" in data and not request.subresource:
                    key = (request.resource, request.namespace, request.name)
                    if key in self.objects and not self.objects[key].deleted:
                        current = self.objects[key].raw.get("metadata", {}).get("generation") or 1
                        meta["generation"] = int(current) + 1
                meta["resourceVersion"] = str(next(self._versions))
        return await super()._handle(request)


class Kube:
    """The emulator served on a free port from a background thread, with a small sync HTTP client."""

    def __init__(self) -> None:
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kmock", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the Kubernetes API emulator did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with ApiServer() as api, kmock.Server(api) as server:
            for kind, plural in PLURALS.items():
                api.resources[f"{API}/{plural}"] = kmock.ResourceInfo(
                    kind=kind, namespaced=True, verbs=RW, subresources={"status"}
                )
            api.resources["kopf.dev/v1/kopfpeerings"] = kmock.ResourceInfo(
                kind="KopfPeering", namespaced=True, verbs=RW
            )
            api.resources["kopf.dev/v1/clusterkopfpeerings"] = kmock.ResourceInfo(
                kind="ClusterKopfPeering", namespaced=False, verbs=RW
            )
            api.resources["v1/events"] = kmock.ResourceInfo(kind="Event", namespaced=True, verbs=RW)
            api.resources["wgpolicyk8s.io/v1alpha2/policyreports"] = kmock.ResourceInfo(
                kind="PolicyReport", namespaced=True, verbs=RW
            )
            api.resources["v1/namespaces"] = kmock.ResourceInfo(kind="Namespace", namespaced=False, verbs=RW)
            self.api = api
            self.url = str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def kubeconfig(self, directory: Path) -> Path:
        path = directory / "kubeconfig.yaml"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "kmock",
            "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock"}}],
            "clusters": [{"name": "kmock", "cluster": {"server": self.url}}],
            "users": [{"name": "kmock", "user": {"token": "test"}}],
        }
        path.write_text(json.dumps(config))  # JSON is YAML
        return path

    # --- HTTP client ---------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": content_type}
        )
        with urllib.request.urlopen(req, timeout=10) as answer:
            return json.loads(answer.read() or b"null")

    @staticmethod
    def path(kind: str, namespace: str, name: str | None = None) -> str:
        base = f"/apis/{API}/namespaces/{namespace}/{PLURALS[kind]}"
        return f"{base}/{name}" if name else base

    def create(self, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
        manifest = {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
        return self.request("POST", self.path(manifest["kind"], namespace), manifest)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", self.path(kind, namespace, name))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def patch(self, kind: str, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", self.path(kind, namespace, name), body)

    def delete(self, kind: str, namespace: str, name: str) -> Any:
        return self.request("DELETE", self.path(kind, namespace, name))

    def events(self, namespace: str, name: str | None = None) -> list[dict[str, Any]]:
        items = self.request("GET", f"/api/v1/namespaces/{namespace}/events")["items"]
        return [e for e in items if name is None or e.get("involvedObject", {}).get("name") == name]

    def peering(self, name: str) -> dict[str, Any]:
        """A ClusterKopfPeering object (kopf does not create it; the deploy manifests do)."""
        body = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": name}}
        return self.request("POST", "/apis/kopf.dev/v1/clusterkopfpeerings", body)


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return cond
    return {}
