"""Segments, their uploaded members, members' scores (RFM, lifecycle stage) and tag rules."""

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from membership.members.tables import Member
from membership.org.tables import Program


class Segment(Table, tablename="segment"):
    """A group of members (人群): ``rules`` (``definition`` is the rule tree, evaluated when asked,
    :mod:`membership.crm.rules`) or ``static`` (the members an upload listed, ``segment_member``).
    ``code`` is unique in its program."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    code = Varchar(length=64)
    name = Varchar(length=100)
    kind = Varchar(length=8, default="rules")
    definition = JSON(default="{}")
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SegmentMember(Table, tablename="segment_member"):
    """A member an upload put in a static segment."""

    segment_id = ForeignKey(Segment, on_delete=OnDelete.cascade)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict)


class MemberScore(Table, tablename="member_score"):
    """A member's RFM and lifecycle stage as of the program's last refresh (``crm_refresh``):
    ``last_purchase_at`` (within the horizon the stages look at), ``frequency`` and ``monetary``
    (purchases and net spend in the RFM window), ``r``/``f``/``m`` quintile scores 1-5 (None when
    the member bought nothing in the window), ``stage`` (new, active, dormant, churned) since
    ``stage_since``, and ``birthday_month``: the month a lunar birthday falls in that year."""

    member_id = UUID(primary_key=True)  # no foreign key: rewritten by the million, members never deleted
    program_id = UUID()
    last_purchase_at = Timestamptz(null=True, default=None)
    frequency = Integer(default=0)
    monetary = BigInt(default=0)
    r = SmallInt(null=True, default=None)
    f = SmallInt(null=True, default=None)
    m = SmallInt(null=True, default=None)
    stage = Varchar(length=8)
    stage_since = Timestamptz()
    birthday_month = SmallInt(null=True, default=None)


class CrmRefresh(Table, tablename="crm_refresh"):
    """When a program's scores were last refreshed (as of), and the quintile cuts it used."""

    program_id = UUID(primary_key=True)
    computed_at = Timestamptz()
    buyers = Integer(default=0)
    cuts = JSON(default="{}")


class TagRule(Table, tablename="tag_rule"):
    """Members of ``segment_id`` carry ``tag`` (自动标签): the refresh job gives it to members who
    joined the segment and takes it from members who left it. ``tag`` is unique in its program."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    tag = Varchar(length=50)
    segment_id = ForeignKey(Segment, on_delete=OnDelete.restrict)
    created_at = Timestamptz()


class Campaign(Table, tablename="campaign"):
    """A campaign (:mod:`membership.crm.campaigns`): its ``terms`` (JSON), on or off, and when it
    last ran."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    code = Varchar(length=64)
    terms = Text()
    active = Boolean(default=True)
    last_run_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CampaignMember(Table, tablename="campaign_member"):
    """A member a campaign served (``grp`` ``target``) or held back (``control``) for an
    ``occasion`` (unique: once per occasion), and until when a purchase counts as converted."""

    campaign_id = ForeignKey(Campaign, on_delete=OnDelete.cascade)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict)
    occasion = Varchar(length=100)
    grp = Varchar(length=8)
    targeted_at = Timestamptz()
    converts_until = Timestamptz()


class SegmentSize(Table, tablename="segment_size"):
    """How many active members a segment held on a local ``day`` (``record-segment-sizes``: one
    row per segment and day, the day's last count kept)."""

    segment_id = ForeignKey(Segment, on_delete=OnDelete.cascade)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    day = Date()
    members = Integer(default=0)
