"""Make the in-process moto server list object versions the way S3 does with `encoding-type=url`.

botocore always asks ListObjectVersions for `encoding-type=url` and percent-decodes the keys in the
answer, so keys that XML cannot carry (`\\r`, C0 controls, U+FFFE ...) come back intact from S3.
moto 5 ignores the parameter and writes such keys raw into the XML: a `\\r` reads back as `\\n`, and
a control character makes the whole listing fail. Tests of hostile keys install this patch (moto runs
in this process), so that they test the controller against S3's behaviour, not moto's gap.

Keys containing `\\n` cannot be created in moto at all (its URL route does not match them); the
tests leave LF out of their alphabets for that reason only.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.s3.responses import S3Response

_ORIGINAL = S3Response.list_object_versions


def _quote(value: Any) -> Any:
    return urllib.parse.quote(value, safe="/") if isinstance(value, str) else value


def _list_object_versions(self: S3Response) -> Any:
    if self.querystring.get("encoding-type", [None])[0] != "url":
        return _ORIGINAL(self)
    serialized = self.serialized

    def url_encoded(action_result: Any) -> Any:
        body = action_result.result
        for entry in body.get("Versions", []) + body.get("DeleteMarkers", []):
            entry["Key"] = _quote(entry["Key"])
        for name in ("KeyMarker", "NextKeyMarker", "Prefix", "Delimiter"):
            if body.get(name):
                body[name] = _quote(body[name])
        for common in body.get("CommonPrefixes", []):
            common["Prefix"] = _quote(common["Prefix"])
        body["EncodingType"] = "url"
        return serialized(action_result)

    self.serialized = url_encoded  # type: ignore[method-assign]
    try:
        return _ORIGINAL(self)
    finally:
        del self.serialized


@contextmanager
def s3_url_encoded_listings() -> Iterator[None]:
    S3Response.list_object_versions = _list_object_versions  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3Response.list_object_versions = _ORIGINAL  # type: ignore[method-assign]
