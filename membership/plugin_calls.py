"""Calling a hook whose implementations may be coroutines, wrappers included.

pluggy runs implementations synchronously and hands a wrapper (``@hookimpl(wrapper=True)``) the
raw results, so a wrapper around an ``async def`` points rule would receive coroutines (it crashed
with "'coroutine' object is not iterable"). :func:`call` runs the same protocol as pluggy's
``_multicall`` — implementations in the same order, ``firstresult``, wrappers entered before and
resumed after, exceptions thrown into wrappers — but awaits each implementation's awaitable
before the next runs, so every wrapper sees finished values. Wrappers themselves stay
synchronous generators (``result = yield``), as pluggy defines them.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from pluggy import HookCallError, HookImpl


def _arguments(impl: HookImpl, kwargs: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    try:
        args = [kwargs[name] for name in impl.argnames]
    except KeyError as exc:
        raise HookCallError(f"hook call must provide argument {exc.args[0]!r}") from exc
    extra = {name: kwargs[name] for name in impl.kwargnames if name in kwargs}
    return args, extra


def _old_style(impl: HookImpl, args: list[Any], extra: dict[str, Any]) -> Generator[None, Any, Any]:
    """An old-style ``hookwrapper`` (which yields and reads ``outcome.get_result()``) driven like a
    new-style wrapper."""
    from pluggy import Result

    gen = impl.function(*args, **extra)
    next(gen)
    try:
        received = yield
    except BaseException as exc:
        outcome = Result(None, exc)
    else:
        outcome = Result(received, None)
    try:
        gen.send(outcome)
    except StopIteration:
        pass
    return outcome.get_result()


async def call(impls: Sequence[HookImpl], kwargs: Mapping[str, Any], firstresult: bool) -> Any:
    """Call ``impls`` (in pluggy's order: the list reversed) with ``kwargs``, awaiting what each
    returns; the first non-None result (``firstresult``) or the list of them, as the wrappers
    leave it."""
    results: list[Any] = []
    exception: BaseException | None = None
    wrappers: list[Generator[None, Any, Any]] = []
    try:
        for impl in reversed(impls):
            args, extra = _arguments(impl, kwargs)
            if impl.hookwrapper or impl.wrapper:
                gen = _old_style(impl, args, extra) if impl.hookwrapper else impl.function(*args, **extra)
                next(gen)
                wrappers.append(gen)
                continue
            result = impl.function(*args, **extra)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                results.append(result)
                if firstresult:
                    break
    except BaseException as exc:  # given to the wrappers, as pluggy does
        exception = exc
    outcome: Any = (results[0] if results else None) if firstresult else results
    for gen in reversed(wrappers):
        try:
            if exception is not None:
                gen.throw(exception)
            else:
                gen.send(outcome)
            gen.close()  # a well-behaved wrapper returned above
        except StopIteration as stop:
            outcome, exception = stop.value, None
        except BaseException as exc:
            exception = exc
    if exception is not None:
        raise exception
    return outcome
