"""Alibaba Cloud's request signature V3 (``ACS3-HMAC-SHA256``), as its documentation "V3版本请求体&
签名机制" describes it: a canonical request (method, path, the query sorted and percent-encoded
per RFC 3986, the lower-cased signed headers, their names, the body's SHA-256) hashed, the string
``ACS3-HMAC-SHA256\\n<hash>`` signed with HMAC-SHA256 under the AccessKey secret.
tests/test_signing.py checks it against the documentation's fixed-parameter example."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import urllib.parse
from collections.abc import Mapping

ALGORITHM = "ACS3-HMAC-SHA256"


def percent_encode(value: str) -> str:
    """RFC 3986 encoding: unreserved characters stay, a space is ``%20``, ``*`` is ``%2A``."""
    return urllib.parse.quote(value, safe="-_.~")


def canonical_query(query: Mapping[str, str]) -> str:
    """The query's parameters sorted by name, names and values percent-encoded."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(query.items()))


def signed_headers(
    method: str,
    host: str,
    path: str,
    query: Mapping[str, str],
    body: bytes,
    action: str,
    version: str,
    access_key_id: str,
    access_key_secret: str,
    now: dt.datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers a request carries: ``host``, the ``x-acs-*`` ones and ``Authorization``."""
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        "x-acs-date": stamp,
        "x-acs-signature-nonce": nonce or secrets.token_hex(16),
        "x-acs-version": version,
    }
    names = sorted(headers)
    canonical = "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query),
            "".join(f"{name}:{headers[name].strip()}\n" for name in names),
            ";".join(names),
            headers["x-acs-content-sha256"],
        ]
    )
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(access_key_secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"{ALGORITHM} Credential={access_key_id},SignedHeaders={';'.join(names)},Signature={signature}"
    )
    return headers
