"""The pack's tables (all named ``tourism_…``; created by the raw-DDL migration in
``piccolo_migrations``, which also adds their indexes and checks). Lists are JSON text.

A pass's fee, tier and validity are the kernel's: a pass plan names one of the program's paid
plans, and a pass is valid while its holder's paid membership of that plan runs.
"""

from piccolo.columns import UUID, BigInt, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class PassPlan(Table, tablename="tourism_pass_plan"):
    """An annual or seasonal pass (年卡/季卡): the paid plan it is sold as, how many family members
    may enter on it, how often a day, and the least time between two entries of one person."""

    id = UUID(primary_key=True)
    program_id = UUID()
    plan_code = Varchar(length=32)
    kind = Varchar(length=16)
    max_family = Integer(default=0)
    daily_entries = Integer(default=0)
    reentry_minutes = Integer(default=0)
    active = Boolean(default=True)
    updated_by = Varchar(length=100, default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Blackout(Table, tablename="tourism_blackout"):
    """A date passes do not open the gates (不可用日期: 国庆、春节), for every pass plan or some."""

    id = UUID(primary_key=True)
    program_id = UUID()
    day = Varchar(length=10)
    name = Varchar(length=50)
    plans = Text(default="[]")
    updated_by = Varchar(length=100, default="")
    created_at = Timestamptz()


class Pass(Table, tablename="tourism_pass"):
    """A holder's pass of a plan (one per holder and plan, renewals included), with the key of its
    rotating e-card codes sealed under the holder's data key."""

    id = UUID(primary_key=True)
    program_id = UUID()
    holder_id = UUID()
    plan_code = Varchar(length=32)
    secret = Text()
    created_at = Timestamptz()


class PassPerson(Table, tablename="tourism_pass_person"):
    """Who enters on a pass: its holder (主卡) and the family members they added (副卡), until
    removed."""

    id = UUID(primary_key=True)
    program_id = UUID()
    pass_id = UUID()
    member_id = UUID()
    role = Varchar(length=8)
    relation = Varchar(length=16, default="")
    added_by = Varchar(length=100, default="")
    added_at = Timestamptz()
    removed_by = Varchar(length=100, null=True, default=None)
    removed_at = Timestamptz(null=True, default=None)


class Venue(Table, tablename="tourism_venue"):
    """A store as a venue of the scenic area: its business format (门票、酒店、餐饮、零售、演艺) and
    what pass holders get there (extra points in percent of the base points, a discount)."""

    store_id = UUID(primary_key=True)
    program_id = UUID()
    format = Varchar(length=16)
    pass_points_pct = Integer(default=0)
    pass_discount_pct = Integer(default=0)
    updated_by = Varchar(length=100, default="")
    updated_at = Timestamptz()


class Gate(Table, tablename="tourism_gate"):
    """An entrance (闸机/检票口) at a venue; the gate's terminal calls the entry API with its code."""

    id = UUID(primary_key=True)
    program_id = UUID()
    store_id = UUID()
    code = Varchar(length=32)
    name = Varchar(length=50)
    active = Boolean(default=True)
    updated_by = Varchar(length=100, default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Entry(Table, tablename="tourism_entry"):
    """One try at a gate, let in or refused (``reason``), with the local day and hour it happened
    and the day's bounds in UTC; ``qr_step`` is the e-card code's period (a code opens once)."""

    id = UUID(primary_key=True)
    program_id = UUID()
    gate_id = UUID()
    store_id = UUID()
    pass_id = UUID(null=True, default=None)
    person_id = UUID(null=True, default=None)
    member_id = UUID(null=True, default=None)
    kind = Varchar(length=16)
    allowed = Boolean()
    reason = Varchar(length=32, default="")
    qr_step = BigInt(null=True, default=None)
    occurred_at = Timestamptz()
    day = Varchar(length=10)
    hour = Integer()
    day_start = Timestamptz()
    day_end = Timestamptz()
    request_key = Varchar(length=255, null=True, default=None)
    answer = Text(null=True, default=None)


TABLES = [PassPlan, Blackout, Pass, PassPerson, Venue, Gate, Entry]
