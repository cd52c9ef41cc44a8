"""``plugin_programs(name)``: the programs a per-program plugin is on for, for its jobs."""

from __future__ import annotations

import msgspec

from membership import hookimpl
from membership.plugin import PluginMeta, plugin_programs
from membership.testing import enable_plugin, make_program
from tests.helpers import make_shop


class Shelf:
    """A per-program plugin with nothing to set."""

    @hookimpl
    def membership_plugin_meta(self):
        return PluginMeta("货架", "Shelf", settings=msgspec.defstruct("ShelfSettings", []))


async def test_plugin_programs_lists_the_programs_a_plugin_is_on_for(db, register_plugin):
    shop = await make_shop()
    register_plugin(Shelf(), name="shelf")
    other = await make_program(shop.merchant_id, "另一个会员方案")
    assert await plugin_programs("shelf") == []
    await enable_plugin(other.id, "shelf")
    assert [p.id for p in await plugin_programs("shelf")] == [other.id]
    everywhere = {p.id for p in await plugin_programs("membership.builtin.points")}  # deployment-wide
    assert everywhere == {shop.program.id, other.id}
