"""The one retry loop: what it retries, how often, and what it leaves alone."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from controllers.aws import RetryPolicy, call, is_retryable


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (client_error("SlowDown", 503), True),
        (client_error("ProvisionedThroughputExceededException"), True),
        (client_error("Whatever", 503), True),
        (client_error("InternalError", 500), True),
        (ConnectionClosedError(endpoint_url="http://x"), True),
        (EndpointConnectionError(endpoint_url="http://x"), True),
        (client_error("AccessDenied", 403), False),
        (client_error("NoSuchBucket", 404), False),
        (ValueError("bug"), False),
    ],
)
def test_what_is_retried(exc: Exception, retryable: bool) -> None:
    assert is_retryable(exc) is retryable


def test_retries_are_bounded_and_back_off() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, base_delay=1.0, sleep=waits.append)
    attempts = {"n": 0}

    def always_throttled() -> None:
        attempts["n"] += 1
        raise client_error("SlowDown", 503)

    with pytest.raises(ClientError):
        call(policy, always_throttled)
    assert attempts["n"] == 4 and len(waits) == 3
    assert all(0 <= w <= 1.0 * 2**i for i, w in enumerate(waits))


def test_a_transient_failure_then_success_returns_the_answer() -> None:
    answers = iter([ConnectionClosedError(endpoint_url="http://x"), "ok"])

    def flaky() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert call(RetryPolicy(sleep=lambda _: None), flaky) == "ok"


def test_permanent_errors_are_not_retried() -> None:
    attempts = {"n": 0}

    def denied() -> None:
        attempts["n"] += 1
        raise client_error("AccessDenied", 403)

    with pytest.raises(ClientError):
        call(RetryPolicy(sleep=lambda _: None), denied)
    assert attempts["n"] == 1


def test_an_endpoint_override_gets_no_dummy_credentials(
    monkeypatch: pytest.MonkeyPatch, moto_url: str
) -> None:
    """Without credentials, a client for an endpoint override (moto here, a real one elsewhere) has none:
    the call fails with NoCredentialsError, and `residency enforce` says so up front (exit 2)."""
    import boto3
    from botocore.exceptions import NoCredentialsError

    from controllers.aws import ClientFactory

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    factory = ClientFactory(endpoint_url=moto_url, _session=boto3.session.Session())
    assert factory.has_credentials() is False
    with pytest.raises(NoCredentialsError):
        factory.client("s3", "cn-north-1").list_buckets()


def test_credentials_from_the_environment_are_used_for_an_endpoint_override(
    monkeypatch: pytest.MonkeyPatch, moto_url: str
) -> None:
    import boto3

    from controllers.aws import ClientFactory

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto-secret")
    factory = ClientFactory(endpoint_url=moto_url, _session=boto3.session.Session())
    assert factory.has_credentials()
    client = factory.client("s3", "cn-north-1")
    assert client._request_signer._credentials.access_key == "moto-key"
    client.list_buckets()
