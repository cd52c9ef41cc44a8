"""The pack's tables (all named ``catering_…``; created by the raw-DDL migration in
``piccolo_migrations``, which also adds their indexes and checks). Lists are JSON text."""

from piccolo.columns import UUID, BigInt, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class StampScheme(Table, tablename="catering_stamp_scheme"):
    """A stamp card (集点卡): which items earn stamps, how many make a reward, the reward's coupon
    template, how long a card lasts from its first stamp, and from when sales count."""

    id = UUID(primary_key=True)
    program_id = UUID()
    code = Varchar(length=64)
    name = Varchar(length=100)
    skus = Text(default="[]")
    categories = Text(default="[]")
    labels = Text(default="[]")
    stamps_per_item = Integer(default=1)
    stamps_needed = Integer()
    reward_template = Varchar(length=64)
    valid_days = Integer(null=True, default=None)
    starts_at = Timestamptz()
    active = Boolean(default=True)
    updated_by = Varchar(length=100, default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class StampCard(Table, tablename="catering_stamp_card"):
    """A member's current card of a scheme (one row per scheme and member, locked while it
    changes): ``card_no`` counts the member's cards, ``stamps`` may be below 0 (a refund took back
    stamps already turned into a reward: later stamps repay it)."""

    id = UUID(primary_key=True)
    program_id = UUID()
    scheme_id = UUID()
    member_id = UUID()
    card_no = Integer(default=1)
    stamps = Integer(default=0)
    started_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()


class StampEntry(Table, tablename="catering_stamp_entry"):
    """What changed a card, append-only: ``earn`` (a sale line), ``refund`` (its units taken
    back), ``expire`` (the card ran out), ``reward`` (a full card turned into ``coupon_code``)."""

    id = UUID(primary_key=True)
    program_id = UUID()
    scheme_id = UUID()
    member_id = UUID()
    card_no = Integer()
    kind = Varchar(length=8)
    stamps = Integer()
    quantity = Integer(default=0)
    per_item = Integer(default=0)
    sale_id = UUID(null=True, default=None)
    line_no = Integer(null=True, default=None)
    coupon_code = Varchar(length=64, null=True, default=None)
    occurred_at = Timestamptz()
    created_at = Timestamptz()


class DiningRule(Table, tablename="catering_dining_rule"):
    """A points rule of the dining room: for which meal periods, service modes, party sizes and
    per-head spend it applies, and what it gives (a points multiplier, bonus points)."""

    id = UUID(primary_key=True)
    program_id = UUID()
    code = Varchar(length=64)
    name = Varchar(length=100)
    meal_periods = Text(default="[]")
    service_modes = Text(default="[]")
    min_party_size = Integer(default=0)
    min_per_head = BigInt(default=0)
    multiplier_pct = Integer(default=100)
    bonus_points = BigInt(default=0)
    active = Boolean(default=True)
    updated_by = Varchar(length=100, default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Visit(Table, tablename="catering_visit"):
    """One sale as a meal (到店一次): meal period, service mode, party size and per-head spend."""

    id = UUID(primary_key=True)
    program_id = UUID()
    sale_id = UUID(unique=True)
    member_id = UUID()
    store_id = UUID()
    occurred_at = Timestamptz()
    meal_period = Varchar(length=16)
    service_mode = Varchar(length=16)
    party_size = Integer(null=True, default=None)
    total = BigInt()
    per_head = BigInt(null=True, default=None)
    created_at = Timestamptz()


class Preference(Table, tablename="catering_preference"):
    """A member's tastes (口味偏好) and allergies (过敏), with a note for the kitchen. Allergies
    (health data) and the note are sealed under the member's data key (empty: none)."""

    member_id = UUID(primary_key=True)
    program_id = UUID()
    tastes = Text(default="[]")
    allergies = Text(default="")
    note = Text(default="")
    updated_by = Varchar(length=100, default="")
    updated_at = Timestamptz()


class HandledEvent(Table, tablename="catering_event"):
    """An event the pack's listener handled (delivery is at least once: a repeat is skipped)."""

    event_id = UUID(primary_key=True)
    name = Varchar(length=64)
    handled_at = Timestamptz()


TABLES = [StampScheme, StampCard, StampEntry, DiningRule, Visit, Preference, HandledEvent]
