"""The retail pack's hook implementations (the ``retail`` entry point): each hands over to the
module named by its business word."""

from __future__ import annotations

import random
import uuid
from typing import Any

from membership.plugin import (
    Award,
    ConsolePage,
    DemoProfile,
    EarnContext,
    Job,
    PluginMeta,
    PriceContext,
    ProgramConfig,
    Report,
    hookimpl,
)
from membership_retail import api, console, demo, earning, member_prices
from membership_retail.basket import BasketReport
from membership_retail.jobs import ForgetReceipts, RepurchaseReminders
from membership_retail.settings import RetailSettings


@hookimpl
def membership_plugin_meta() -> PluginMeta:
    """零售: off for a program until an owner switches it on; settings from :class:`RetailSettings`."""
    return PluginMeta(
        "零售",
        "Retail",
        "会员价、商品档案、品牌/品类积分、小票补录积分、复购提醒和购物篮分析。",
        "Member prices, a product catalogue, points by brand and category, receipt claims,"
        " repurchase reminders and a market-basket analysis.",
        RetailSettings,
    )


@hookimpl
def membership_piccolo_apps() -> list[str]:
    """The pack's tables."""
    return ["membership_retail.piccolo_app"]


@hookimpl
async def membership_line_prices(context: PriceContext) -> list[tuple[int, int]] | None:
    """Member prices per tier on SKUs and categories."""
    return await member_prices.line_offers(context)


@hookimpl
async def membership_points_awards(context: EarnContext) -> list[Award] | None:
    """Extra points by brand, category and SKU."""
    return await earning.awards(context)


@hookimpl
def membership_register_routes() -> list[Any]:
    """``/api/v1/retail/…``."""
    return api.ROUTES


@hookimpl
def membership_register_console_pages() -> list[ConsolePage]:
    """``/console/retail``."""
    return [console.PAGE]


@hookimpl
def membership_register_jobs() -> list[type[Job]]:
    """``retail-repurchase`` and ``retail-forget-receipts``."""
    return [RepurchaseReminders, ForgetReceipts]


@hookimpl
def membership_register_reports() -> list[type[Report]]:
    """``retail_basket``."""
    return [BasketReport]


@hookimpl
def membership_demo_profile() -> DemoProfile:
    """A supermarket chain of three stores."""
    return demo.PROFILE


@hookimpl
async def membership_demo_data(program: ProgramConfig, store_ids: list[uuid.UUID], rng: random.Random) -> None:
    """The catalogue, member prices, points rules, purchases, receipts and cycles of the demo."""
    await demo.add_demo_data(program, store_ids, rng)
