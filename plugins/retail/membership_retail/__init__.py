"""零售行业包 — the retail pack: member prices per tier, a product catalogue, points by brand,
category and SKU, late earning by receipt, repurchase reminders and a market-basket report.

The kernel loads :mod:`membership_retail.plugin` through the ``retail`` entry point; the pack is
off for a program until an owner switches it on (console → 插件, or ``PUT
/api/v1/programs/{id}/plugins/retail``).
"""

__version__ = "0.1.0"
