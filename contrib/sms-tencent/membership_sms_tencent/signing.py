"""Tencent Cloud's request signature v3 (``TC3-HMAC-SHA256``), as its documentation "签名方法 v3"
describes it: a canonical request (``POST``, ``/``, an empty query, the ``content-type`` and
``host`` headers, their names, the payload's SHA-256) hashed into a string to sign with the
credential scope ``<UTC date>/<service>/tc3_request``, signed with a key derived from the
SecretKey by HMAC-SHA256 over the date, the service and ``tc3_request``.
tests/test_tencent_sms.py checks it against the documentation's worked example."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def authorization(secret_id: str, secret_key: str, service: str, host: str, payload: bytes, timestamp: int) -> str:
    """The ``Authorization`` header of a JSON ``POST`` of ``payload`` to ``host`` at ``timestamp``."""
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{CONTENT_TYPE}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
