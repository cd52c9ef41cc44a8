"""The plugin manager and the typed façade kernel code calls hooks through.

Plugins come from three places, in this order:

1. the built-in plugins in :data:`DEFAULT_PLUGINS` (registered like any other, ``trylast``);
2. entry points in the ``membership`` group of installed distributions (not under test);
3. plugins registered at run time (tests, the pytest fixture ``register_plugin``).

``MEMBERSHIP_PLUGINS=a,b`` loads only those entry points; ``MEMBERSHIP_DISABLE_PLUGINS=a,b``
blocks plugins by name, built-in ones included (``membership.builtin.points``).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import os
import sys
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from membership import __version__, hookspecs, plugin_calls
from membership.errors import MembershipError, PluginError, Reason, ValidationError

if TYPE_CHECKING:
    import random

    import typer

    from membership.analytics.interface import Report
    from membership.console.pages import ConsolePage
    from membership.demo.service import DemoProfile
    from membership.jobs.interface import Job
    from membership.ledger.conditions import RuleCondition
    from membership.ledger.rules import Award, EarnContext, PointsExpiry, RedeemContext
    from membership.members.credentials import CredentialKindSpec
    from membership.notifications.interface import Channel
    from membership.org.program_plugins import PluginMeta
    from membership.org.service import ProgramConfig
    from membership.promotions.kinds import PromotionKind
    from membership.readers.interface import ReaderDriver
    from membership.rewards.kinds import RewardKind
    from membership.sales.prices import PriceContext
    from membership.tiers.policy import TierBenefits, TierMetrics

DEFAULT_PLUGINS = (
    "membership.builtin.identity",
    "membership.builtin.points",
    "membership.builtin.conditions",
    "membership.builtin.rewards",
    "membership.builtin.promotions",
    "membership.builtin.tiers",
    "membership.builtin.reports",
    "membership.builtin.jobs",
    "membership.builtin.outbox",
    "membership.builtin.crm",
    "membership.builtin.channels",
    "membership.builtin.care",
    "membership.builtin.surveys",
)

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin: its name, where it comes from, its version and the hooks it implements."""

    name: str
    source: str
    version: str
    hooks: tuple[str, ...]


def _names(env: str) -> set[str]:
    return {name.strip() for name in os.environ.get(env, "").split(",") if name.strip()}


def _loading_entry_points() -> bool:
    return not getattr(sys, "_called_from_test", False)


class Hooks:
    """Typed methods over the plugin manager; kernel code never touches ``pm.hook``."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._sources: dict[str, tuple[str, str]] = {}
        self._metas: dict[str, PluginMeta] | None = None
        self._subsets: dict[tuple[str, frozenset[str]], Any] = {}
        self._conditions: dict[str, type[RuleCondition]] | None = None

    # -- machinery -------------------------------------------------------------------------

    def _culprit(self, hook: str, exc: BaseException) -> str:
        """The plugin whose implementation of ``hook`` is deepest in ``exc``'s traceback."""
        codes = {impl.function.__code__: impl.plugin_name for impl in getattr(self.pm.hook, hook).get_hookimpls()}
        culprit, tb = "unknown", exc.__traceback__
        while tb is not None:
            culprit = codes.get(tb.tb_frame.f_code, culprit)
            tb = tb.tb_next
        return culprit

    def _wrap(self, hook: str, exc: Exception) -> MembershipError:
        if isinstance(exc, MembershipError):
            return exc
        return PluginError(plugin=self._culprit(hook, exc), hook=hook, error=f"{type(exc).__name__}: {exc}")

    def _caller(self, hook: str, program: ProgramConfig | None) -> Any:
        """The hook's caller for ``program``: without the per-program plugins that are off there
        (pluggy's subset caller, kept per set of plugins left out)."""
        hook_caller = getattr(self.pm.hook, hook)
        if program is None:
            return hook_caller
        off = frozenset(self.plugin_metas()).difference(program.plugins)
        if not off:
            return hook_caller
        subset = self._subsets.get((hook, off))
        if subset is None:
            plugins = [self.pm.get_plugin(name) for name in off]
            subset = self._subsets[hook, off] = self.pm.subset_hook_caller(hook, [p for p in plugins if p is not None])
        return subset

    async def _call_async(self, hook: str, for_program: ProgramConfig | None, kwargs: dict[str, Any]) -> Any:
        """The hook called with every implementation's awaitable awaited before the wrappers
        see it (:mod:`membership.plugin_calls`)."""
        caller = self._caller(hook, for_program)
        firstresult = bool(caller.spec and caller.spec.opts.get("firstresult"))
        try:
            return await plugin_calls.call(caller.get_hookimpls(), kwargs, firstresult)
        except Exception as exc:
            raise self._wrap(hook, exc) from exc

    async def _first(self, hook: str, for_program: ProgramConfig | None = None, /, **kwargs: Any) -> Any:
        return await self._call_async(hook, for_program, kwargs)

    async def _all(self, hook: str, for_program: ProgramConfig | None = None, /, **kwargs: Any) -> list[Any]:
        return await self._call_async(hook, for_program, kwargs)

    def _call_sync(self, hook: str, for_program: ProgramConfig | None = None, /, **kwargs: Any) -> Any:
        try:
            return self._caller(hook, for_program)(**kwargs)
        except Exception as exc:
            raise self._wrap(hook, exc) from exc

    def plugin_metas(self) -> dict[str, PluginMeta]:
        """The per-program plugins (those answering ``membership_plugin_meta``) by name."""
        if self._metas is None:
            metas = {}
            for impl in self.pm.hook.membership_plugin_meta.get_hookimpls():
                try:
                    meta = impl.function()
                except Exception as exc:
                    raise PluginError(plugin=impl.plugin_name, hook="membership_plugin_meta", error=repr(exc)) from exc
                if meta is not None:
                    metas[impl.plugin_name] = meta
            self._metas = metas
        return self._metas

    def _registry(self, hook: str, kind: str) -> dict[str, type[T]]:
        found: dict[str, type[T]] = {}
        for classes in self._call_sync(hook):
            for cls in classes or ():
                name = getattr(cls, "name", "")
                if not name:
                    raise ValidationError(
                        field=kind, reason=Reason(f"{cls.__qualname__} has no name", f"{cls.__qualname__} 没有名称")
                    )
                if name in found and found[name] is not cls:
                    raise ValidationError(
                        field=kind,
                        reason=Reason(
                            f"{name!r} is registered twice ({found[name].__qualname__}, {cls.__qualname__})",
                            f"{name!r} 重复注册（{found[name].__qualname__}、{cls.__qualname__}）",
                        ),
                    )
                found[name] = cls
        return found

    # -- identity --------------------------------------------------------------------------

    def normalize_credential(self, kind: str, value: str) -> str:
        """The canonical credential value (plugins first, then the built-in rules)."""
        result = self._call_sync("membership_normalize_credential", kind=kind, value=value)
        return value.strip() if result is None else result

    async def identify(self, program_id: uuid.UUID, kind: str, value: str) -> uuid.UUID | None:
        """The member holding a credential, or None."""
        program = await _program(program_id)
        return await self._first("membership_identify", program, program_id=program_id, kind=kind, value=value)

    def normalize_profile(self, profile: dict[str, Any]) -> dict[str, Any]:
        """Let every plugin tidy ``profile`` in place; returns it."""
        self._call_sync("membership_normalize_profile", profile=profile)
        return profile

    async def find_duplicate(self, program_id: uuid.UUID, profile: dict[str, Any]) -> tuple[str, uuid.UUID] | None:
        """``(field, member_id)`` of an existing member the profile duplicates, or None."""
        program = await _program(program_id)
        return await self._first("membership_find_duplicate", program, program_id=program_id, profile=profile)

    async def check_enrolment(self, program: ProgramConfig, profile: dict[str, Any]) -> Reason | str | None:
        """A reason the program's plugins give to refuse enrolling ``profile``, or None."""
        return await self._first("membership_check_enrolment", program, program=program, profile=profile)

    # -- credential kinds ----------------------------------------------------------------

    def credential_kinds(self, program: ProgramConfig | None = None) -> dict[str, CredentialKindSpec]:
        """The registered credential kinds by name, the built-in ones first; one name registered
        by two plugins is refused, naming both. For ``program``, a per-program plugin's kinds
        only where it is on."""
        hook = "membership_register_credential_kinds"
        found: dict[str, CredentialKindSpec] = {}
        owners: dict[str, str] = {}
        for impl in getattr(self.pm.hook, hook).get_hookimpls():  # trylast (built-in) first
            try:
                specs = impl.function()
            except Exception as exc:
                error = exc.detail("en") if isinstance(exc, MembershipError) else f"{type(exc).__name__}: {exc}"
                raise PluginError(plugin=impl.plugin_name, hook=hook, error=error) from exc
            for spec in specs or ():
                if spec.name in found and found[spec.name] is not spec:
                    name, both = spec.name, f"{owners[spec.name]}, {impl.plugin_name}"
                    raise ValidationError(
                        field="credential kind",
                        reason=Reason(f"{name!r} is registered twice ({both})", f"{name!r} 重复注册（{both}）"),
                    )
                found[spec.name], owners[spec.name] = spec, impl.plugin_name
        if program is not None:
            off = set(self.plugin_metas()).difference(program.plugins)
            found = {name: spec for name, spec in found.items() if owners[name] not in off}
        return found

    # -- tier policy -----------------------------------------------------------------------

    async def tier_for(self, program: ProgramConfig, member_id: uuid.UUID, metrics: TierMetrics) -> str | None:
        """The tier a member holds for these metrics."""
        return await self._first("membership_tier_for", program, program=program, member_id=member_id, metrics=metrics)

    async def tiers_for(
        self, program: ProgramConfig, metrics: dict[uuid.UUID, TierMetrics]
    ) -> dict[uuid.UUID, str | None]:
        """The tier each member of ``metrics`` holds: one ``membership_tiers_for`` call when a
        plugin answers it, else ``membership_tier_for`` member by member."""
        found = await self._first("membership_tiers_for", program, program=program, metrics=metrics)
        if found is None:
            return {member_id: await self.tier_for(program, member_id, m) for member_id, m in metrics.items()}
        missing = metrics.keys() - found.keys()
        if missing:  # a member left out would silently lose their tier
            answering = {impl.plugin_name for impl in self.pm.hook.membership_tiers_for.get_hookimpls()}
            error = f"no tier (nor None) for {len(missing)} of {len(metrics)} members"
            raise PluginError(plugin=", ".join(sorted(answering)), hook="membership_tiers_for", error=error)
        return found

    def implemented_elsewhere(self, hook: str, plugin_name: str, program: ProgramConfig | None = None) -> bool:
        """Whether a plugin other than ``plugin_name`` implements ``hook`` (for ``program``: one on there)."""
        return any(impl.plugin_name != plugin_name for impl in self._caller(hook, program).get_hookimpls())

    def tier_benefits(self, program: ProgramConfig, tier: str | None) -> TierBenefits | None:
        """What ``tier`` gives, or None."""
        if tier is None:
            return None
        return self._call_sync("membership_tier_benefits", program, program=program, tier=tier)

    # -- prices ----------------------------------------------------------------------------

    async def line_prices(self, context: PriceContext) -> list[list[tuple[int, int]] | None]:
        """Every plugin's member prices for the sale's lines (``(line_no, unit_price)`` pairs)."""
        return await self._all("membership_line_prices", context.program, context=context)

    # -- points rules ----------------------------------------------------------------------

    async def points_awards(self, context: EarnContext) -> list[Award]:
        """Every award the points rules grant for a purchase."""
        found = await self._all("membership_points_awards", context.program, context=context)
        return [a for awards in found for a in awards or ()]

    async def growth_awards(self, context: EarnContext) -> list[Award]:
        """Every growth award for a purchase."""
        found = await self._all("membership_growth_awards", context.program, context=context)
        return [a for awards in found for a in awards or ()]

    async def check_redemption(self, context: RedeemContext) -> Reason | str | None:
        """A reason to refuse the redemption, or None."""
        return await self._first("membership_check_redemption", context.program, context=context)

    def points_expiry(self, program: ProgramConfig, earned_at: Any) -> PointsExpiry:
        """When points earned at ``earned_at`` expire."""
        from membership.ledger.rules import PointsExpiry

        result = self._call_sync("membership_points_expiry", program, program=program, earned_at=earned_at)
        return result if result is not None else PointsExpiry(None)

    def rule_conditions(self) -> dict[str, type[RuleCondition]]:
        """Condition kinds of points rules by name (kept until a plugin is registered or removed);
        one name registered twice is refused."""
        if self._conditions is None:
            self._conditions = self._registry("membership_register_rule_conditions", "rule condition")
        return self._conditions

    def reward_kinds(self) -> dict[str, type[RewardKind]]:
        """Kinds of rewards priced in points by name; one name registered twice is refused."""
        return self._registry("membership_register_reward_kinds", "reward kind")

    def promotion_kinds(self) -> dict[str, type[PromotionKind]]:
        """Kinds of promotions at the till by name; one name registered twice is refused."""
        return self._registry("membership_register_promotion_kinds", "promotion kind")

    # -- registries ------------------------------------------------------------------------

    def reader_drivers(self) -> dict[str, type[ReaderDriver]]:
        """Reader drivers by name."""
        return self._registry("membership_register_reader_drivers", "reader driver")

    def channels(self) -> dict[str, type[Channel]]:
        """Notification channels by name."""
        return self._registry("membership_register_channels", "channel")

    def reports(self) -> dict[str, type[Report]]:
        """Reports by name."""
        return self._registry("membership_register_reports", "report")

    def jobs(self) -> dict[str, type[Job]]:
        """Jobs by name."""
        return self._registry("membership_register_jobs", "job")

    # -- extension -------------------------------------------------------------------------

    def piccolo_apps(self) -> list[str]:
        """Plugin Piccolo app modules, in plugin order, without repeats."""
        apps = [app for apps in self._call_sync("membership_piccolo_apps") for app in apps or ()]
        return list(dict.fromkeys(apps))

    def routes(self) -> list[Any]:
        """Plugin API route handlers and controllers."""
        return [r for routes in self._call_sync("membership_register_routes") for r in routes or ()]

    def console_pages(self) -> list[ConsolePage]:
        """Plugin console pages; two on one path are refused."""
        pages: dict[str, ConsolePage] = {}
        for found in self._call_sync("membership_register_console_pages"):
            for page in found or ():
                if page.path in pages:
                    raise ValidationError(
                        field="console page",
                        reason=Reason(f"path {page.path!r} registered twice", f"路径 {page.path!r} 重复注册"),
                    )
                pages[page.path] = page
        return list(pages.values())

    async def counter_notes(self, program: ProgramConfig, member_id: uuid.UUID, language: str) -> list[str]:
        """The notes the plugins on for ``program`` give the counter about a member, in order."""
        found = await self._all(
            "membership_counter_notes", program, program=program, member_id=member_id, language=language
        )
        return [str(note) for notes in found for note in notes or () if str(note).strip()]

    def register_commands(self, cli: typer.Typer) -> None:
        """Let plugins add CLI commands."""
        self._call_sync("membership_register_commands", cli=cli)

    def demo_profile(self, plugin_name: str) -> DemoProfile | None:
        """The demo business plugin ``plugin_name`` describes (None when it describes none)."""
        for impl in self.pm.hook.membership_demo_profile.get_hookimpls():
            if impl.plugin_name == plugin_name:
                return impl.function()
        return None

    async def demo_data(self, program: ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
        """Let plugins add demo data."""
        await self._all("membership_demo_data", program, program=program, store_ids=store_ids, rng=rng)

    def event_listener_names(self, program: ProgramConfig) -> list[str]:
        """The plugins listening to events (``membership_event``) that are on for ``program``:
        one delivery each goes to the outbox (:mod:`membership.outbox.service`)."""
        return [impl.plugin_name for impl in self._caller("membership_event", program).get_hookimpls()]

    def event_listener(self, name: str) -> pluggy.HookImpl | None:
        """Plugin ``name``'s ``membership_event`` implementation (None once it is gone)."""
        return next((i for i in self.pm.hook.membership_event.get_hookimpls() if i.plugin_name == name), None)

    def has_event_listeners(self) -> bool:
        """Whether any plugin listens to events (a big job's hundreds of thousands of events are
        not written to the outbox for nobody)."""
        return bool(self.pm.hook.membership_event.get_hookimpls())

    # -- introspection ---------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every registered plugin, built-in ones included."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:  # blocked
                continue
            hooks = tuple(sorted(impl_hook.name for impl_hook in self.pm.get_hookcallers(plugin) or ()))
            source, version = self._sources.get(name, ("runtime", "-"))
            infos.append(PluginInfo(name=name, source=source, version=version, hooks=hooks))
        return sorted(infos, key=lambda info: (info.source != "builtin", info.name))

    def register(self, plugin: object, name: str | None = None, source: str = "runtime", version: str = "-") -> str:
        """Register ``plugin`` (a module or object with ``@hookimpl`` functions)."""
        registered = self.pm.register(plugin, name=name)
        if registered is None:
            raise ValidationError(field="plugin", reason=Reason(f"{name!r} is blocked", f"{name!r} 已被禁用"))
        self._sources[registered] = (source, version)
        self._metas = None
        self._subsets.clear()
        self._conditions = None
        _registry_changed()
        return registered

    def unregister(self, name: str) -> None:
        """Remove the plugin registered as ``name``."""
        self.pm.unregister(name=name)
        self._sources.pop(name, None)
        self._metas = None
        self._subsets.clear()
        self._conditions = None
        _registry_changed()


async def _program(program_id: uuid.UUID) -> ProgramConfig:
    from membership.org.service import get_program

    return await get_program(program_id)


def _registry_changed() -> None:
    from membership.db.piccolo_conf import app_registry

    app_registry.cache_clear()


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group="membership")


def build_hooks() -> Hooks:
    """A fresh plugin manager with built-in plugins and (outside tests) entry points."""
    pm = pluggy.PluginManager("membership")
    pm.add_hookspecs(hookspecs)
    hooks = Hooks(pm)
    blocked = _names("MEMBERSHIP_DISABLE_PLUGINS")
    for name in blocked:
        pm.set_blocked(name)
    for module_name in DEFAULT_PLUGINS:
        if module_name not in blocked:
            hooks.register(
                importlib.import_module(module_name), name=module_name, source="builtin", version=__version__
            )
    if _loading_entry_points():
        allowed = _names("MEMBERSHIP_PLUGINS")
        for ep in _entry_points():
            if ep.name in blocked or (allowed and ep.name not in allowed):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(plugin=ep.name, hook="loading", error=f"{type(exc).__name__}: {exc}") from exc
            dist = ep.dist
            hooks.register(
                plugin, name=ep.name, source=dist.name if dist else ep.value, version=dist.version if dist else "-"
            )
    return hooks


_hooks: Hooks | None = None


def hooks() -> Hooks:
    """The process-wide façade (built on first use)."""
    global _hooks
    if _hooks is None:
        _hooks = build_hooks()
    return _hooks


def reset_hooks() -> None:
    """Forget the façade so the next :func:`hooks` call reloads plugins (tests, env changes)."""
    global _hooks
    _hooks = None
    _registry_changed()
