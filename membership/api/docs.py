"""OpenAPI helpers: request and response examples in one line per route."""

from __future__ import annotations

from typing import Any

from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body

from membership.api.problems import problem_responses


def body(example: dict[str, Any], description: str = "") -> Any:
    """A JSON request body documented with ``example``."""
    return Body(description=description or None, examples=[Example(summary="example", value=example)])


def answers(
    status: int,
    data: Any,
    example: Any,
    *errors: int,
    description: str = "OK",
    auth: bool = True,
    media_type: str = "application/json",
) -> dict[int, ResponseSpec]:
    """The route's success answer with an example, and the problem answers it can give
    (``auth=False`` for a route that needs no key)."""
    return {
        status: ResponseSpec(
            data_container=data,
            description=description,
            media_type=media_type,
            generate_examples=False,
            examples=[Example(summary="example", value=example)],
        ),
        **problem_responses(*errors, auth=auth),
    }
