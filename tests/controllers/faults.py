"""Fault injection for reconcilers: HTTP-level faults through botocore events, per-key faults by wrapping.

HTTP-level faults go through the real botocore path (`before-send` may return a response or raise),
so the reconcilers' retry loop sees exactly what it would see from S3: a 503 SlowDown body, or a
connection reset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>FAULT</RequestId></Error>"
)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class HttpFaults:
    """Fail every `every`-th request of the chosen operations (`kind`: "throttle" or "reset")."""

    def __init__(self, kind: str, operations: set[str], every: int = 2) -> None:
        self.kind, self.operations, self.every = kind, operations, every
        self.seen = 0
        self.injected = 0

    def handler(self, request: Any = None, **kwargs: Any) -> AWSResponse | None:
        operation = kwargs.get("event_name", "").rsplit(".", 1)[-1]
        if operation not in self.operations:
            return None
        self.seen += 1
        if self.seen % self.every:
            return None
        self.injected += 1
        if self.kind == "reset":
            raise ConnectionClosedError(endpoint_url=request.url)
        return AWSResponse(request.url, 503, {"Content-Type": "application/xml"}, _Raw(SLOW_DOWN))

    @property
    def hooks(self) -> list[tuple[str, Callable[..., Any]]]:
        return [("before-send.s3", self.handler), ("before-send.dynamodb", self.handler)]


class Killed(BaseException):
    """Stands in for the process being stopped mid-sweep (a BaseException, like SIGTERM handling)."""


class S3Wrapper:
    """Wraps an S3 client: per-key DeleteObjects errors, a kill after N batches, and a record of deletes."""

    def __init__(
        self,
        client: Any,
        *,
        fail_keys: dict[str, list[str]] | None = None,
        kill_after_batches: int | None = None,
    ) -> None:
        self._client = client
        #: key -> error codes returned for it, one per attempt (then it succeeds).
        self.fail_keys = {k: list(v) for k, v in (fail_keys or {}).items()}
        self.kill_after_batches = kill_after_batches
        self.batches = 0
        self.deleted: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_objects(self, *, Bucket: str, Delete: dict[str, Any], **kw: Any) -> dict[str, Any]:  # noqa: N803
        if self.kill_after_batches is not None and self.batches >= self.kill_after_batches:
            raise Killed(f"killed after {self.batches} batch(es)")
        errors, send = [], []
        for obj in Delete["Objects"]:
            codes = self.fail_keys.get(obj["Key"])
            if codes:
                code = codes.pop(0)
                errors.append(
                    {"Key": obj["Key"], "VersionId": obj["VersionId"], "Code": code, "Message": "injected"}
                )
            else:
                send.append(obj)
        answer: dict[str, Any] = {"Deleted": [], "Errors": errors}
        if send:
            real = self._client.delete_objects(Bucket=Bucket, Delete={**Delete, "Objects": send}, **kw)
            answer["Deleted"] = real.get("Deleted", [])
            answer["Errors"] += real.get("Errors", [])
        self.deleted += [(d["Key"], d.get("VersionId") or "null") for d in answer["Deleted"]]
        self.batches += 1
        return answer
