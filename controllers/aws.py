"""boto3 clients for the reconcilers: one factory, one retry policy, one call counter.

botocore's own retries are switched off (one attempt per call) and `call()` retries instead, so
there is exactly one bounded retry loop, its sleep is injectable (tests run it without waiting), and
per-key `DeleteObjects` errors reuse the same policy. Retried: throttling (SlowDown, 503, Throttling,
ProvisionedThroughputExceeded), 5xx, and connection errors (reset, timeout, refused). Every
operation the reconcilers retry is idempotent (deleting a version id twice is a no-op).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

RETRYABLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "OperationAborted",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter."""

    attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 10.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))

    def backoff(self, attempt: int) -> None:
        self.sleep(self.delay(attempt))


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def is_retryable(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in RETRYABLE_CODES or status in (500, 502, 503, 504)
    return False


def call(retry: RetryPolicy, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """`fn(**kwargs)`, retried on transient errors up to `retry.attempts` times in all."""
    for attempt in range(retry.attempts):
        try:
            return fn(**kwargs)
        except Exception as exc:
            if attempt + 1 >= retry.attempts or not is_retryable(exc):
                raise
            retry.backoff(attempt)
    raise AssertionError("unreachable")


Hook = tuple[str, Callable[..., Any]]

_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def _shared_session() -> Any:
    """One boto3 session per process: it caches the service models, which take ~0.2 s per client to load."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            import boto3

            _SESSION = boto3.session.Session()
        return _SESSION


@dataclass
class ClientFactory:
    """Creates and caches one client per (service, region); counts API calls and HTTP requests.

    `hooks` are botocore event handlers registered on every client (tests inject faults with
    `before-send`); `wrap` may replace a client with a wrapper (tests inject per-key errors).
    """

    endpoint_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    hooks: Iterable[Hook] = ()
    wrap: Callable[[str, Any], Any] | None = None
    calls: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _session: Any = field(default=None, repr=False)

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self._make(service, region)
            return self._clients[key]

    def _make(self, service: str, region: str) -> Any:
        from botocore.config import Config

        if self._session is None:
            self._session = _shared_session()
        client = self._session.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint_url,
            config=Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
                max_pool_connections=32,
            ),
        )
        client.meta.events.register("before-call", self._count_call)
        client.meta.events.register("before-send", self._count_request)
        for event, handler in self.hooks:
            client.meta.events.register(event, handler)
        return self.wrap(service, client) if self.wrap else client

    def has_credentials(self) -> bool:
        """Whether the default chain (environment, profile, container or instance role) finds credentials.

        No fallback: an endpoint override (a local emulator) needs credentials too, set by whoever
        runs it (the tests and `residency demo` set their own for their moto server)."""
        if self._session is None:
            self._session = _shared_session()
        return self._session.get_credentials() is not None

    def _count_call(self, model: Any = None, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _count_request(self, request: Any = None, **_: Any) -> None:
        self.requests["http"] += 1

    def total_calls(self, service: str | None = None) -> int:
        return sum(n for k, n in self.calls.items() if service is None or k.startswith(service + "."))
