"""Parse S3 server access log records (the space-separated format with [time] and "quoted" fields).

Format reference: https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html. Fields
after the HTTP status are optional here, because S3 appends new fields over time and readers must
ignore what they do not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

_TOKEN = re.compile(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+')
_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"


@dataclass(frozen=True, slots=True)
class AccessRecord:
    bucket_owner: str
    bucket: str
    time: datetime
    remote_ip: str
    #: An IAM/STS ARN, a canonical user id, or "-" for an anonymous request.
    requester: str
    request_id: str
    operation: str
    #: The object key (decoded), or "-".
    key: str
    request_uri: str
    status: str


class MalformedRecord(ValueError):
    pass


def _unquote_field(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return token[1:-1]
    return token


def parse_record(line: str) -> AccessRecord:
    """One log line; raises `MalformedRecord` if it lacks the fields an audit needs."""
    tokens = _TOKEN.findall(line.strip())
    if len(tokens) < 10 or not (tokens[2].startswith("[") and tokens[2].endswith("]")):
        raise MalformedRecord(f"expected at least 10 fields with a [time], got {len(tokens)}")
    try:
        when = datetime.strptime(tokens[2][1:-1], _TIME_FORMAT)
    except ValueError as exc:
        raise MalformedRecord(f"bad time {tokens[2]}") from exc
    key = tokens[7]
    return AccessRecord(
        bucket_owner=tokens[0],
        bucket=tokens[1],
        time=when,
        remote_ip=tokens[3],
        requester=tokens[4],
        request_id=tokens[5],
        operation=tokens[6],
        key=unquote(key) if key != "-" else key,
        request_uri=_unquote_field(tokens[8]),
        status=tokens[9],
    )


def parse_log(text: str) -> tuple[list[AccessRecord], int]:
    """Every record of one log object, and how many non-empty lines could not be parsed."""
    records: list[AccessRecord] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(parse_record(line))
        except MalformedRecord:
            bad += 1
    return records, bad


def format_record(record: AccessRecord) -> str:
    """The inverse of `parse_record` for the fields it reads (tests and demos write logs with it)."""
    from urllib.parse import quote

    return " ".join(
        [
            record.bucket_owner,
            record.bucket,
            "[" + record.time.strftime(_TIME_FORMAT) + "]",
            record.remote_ip,
            record.requester,
            record.request_id,
            record.operation,
            quote(record.key, safe="/") if record.key != "-" else "-",
            f'"{record.request_uri}"',
            record.status,
            "-",
            "0",
            "-",
            "1",
            "-",
            '"-"',
            '"aws-cli/2"',
            "-",
        ]
    )


_ROLE_SESSION = re.compile(r"^arn:(?P<p>[^:]+):sts::(?P<a>\d{12}):assumed-role/(?P<role>[^/]+)/.+$")
_IAM = re.compile(r"^arn:(?P<p>[^:]+):iam::(?P<a>\d{12}):(?P<res>.+)$")


def principal_allowed(requester: str, allowed: list[str]) -> bool:
    """Is this requester one of the allowed principals?

    An assumed-role session (`sts::A:assumed-role/Name/session`) is its role (`iam::A:role/.../Name`);
    an account root ARN (`iam::A:root`) allows the whole account, as it does in an IAM policy.
    """
    if requester in allowed:
        return True
    session = _ROLE_SESSION.match(requester)
    account = requester.split(":")[4] if requester.startswith("arn:") and requester.count(":") >= 5 else None
    for arn in allowed:
        found = _IAM.match(arn)
        if not found:
            continue
        if found["res"] == "root" and account == found["a"] and requester.split(":")[1] == found["p"]:
            return True
        if (
            session
            and found["res"].startswith("role/")
            and found["a"] == session["a"]
            and found["p"] == session["p"]
        ):
            if found["res"].rsplit("/", 1)[-1] == session["role"]:
                return True
    return False
