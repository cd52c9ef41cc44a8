"""The ``Idempotency-Key`` request header and the ``Idempotent-Replayed`` answer header."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.params import HeaderParameter

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Unique per intended operation; a retry with the same key and body returns the first answer.",
    ),
]
OptionalIdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key", min_length=1, max_length=255, description="Makes the request safe to retry."
    ),
]
REPLAYED_HEADER = ResponseHeader(
    name="Idempotent-Replayed",
    documentation_only=True,
    description="`true` when the answer is the stored one of an earlier request with the same key.",
)


def replayable(content: msgspec.Struct, status: int, replayed: bool) -> Response:
    """An answer that says whether it is the stored answer of an earlier request."""
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(content, status_code=status, headers=headers)
