"""Catering (餐饮) pack for membership: stamp cards (集点卡), meal-period and service-mode points
rules, party size and per-head spend (人均), taste preferences and allergies shown at the counter,
and reports of visits, per-head spend and favourite dishes."""

__version__ = "0.1.0"
