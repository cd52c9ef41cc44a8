"""Member profiles and credentials. Personal data is stored encrypted beside a keyed hash."""

from piccolo.columns import JSON, UUID, Boolean, Date, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from membership.org.tables import Program, Store


class Member(Table, tablename="member"):
    """A member of one program. ``*_enc`` columns are AES-GCM ciphertexts under the member's own
    ``data_key`` (wrapped by the master key named ``key_fp``), ``*_hash`` HMACs under that master
    key (see :mod:`membership.members.personal_data`). ``name`` and ``birthday`` stay in clear:
    search by name fragment and birthday campaigns need them; they are masked for roles that may
    not see personal data and cleared by erasure (docs/security.md)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)  # indexed first in member_member_no_unique
    member_no = Varchar(length=20)
    name = Varchar(length=100)  # searched with LIKE '%…%', which no B-tree serves
    gender = Varchar(length=8, default="unknown")
    birthday = Date(null=True, default=None)
    birthday_calendar = Varchar(length=5, default="solar")
    phone_enc = Text(null=True, default=None)
    phone_hash = Varchar(length=64, null=True, default=None)
    email_enc = Text(null=True, default=None)
    email_hash = Varchar(length=64, null=True, default=None)
    id_number_enc = Text(null=True, default=None)
    id_number_hash = Varchar(length=64, null=True, default=None)
    address_enc = Text(null=True, default=None)
    preferences = JSON(default="{}")
    tags = JSON(default="[]")
    source_channel = Varchar(length=32, default="store")
    consents = JSON(default="{}")
    created_store_id = ForeignKey(Store, on_delete=OnDelete.restrict, null=True, default=None)
    tier = Varchar(length=32, null=True, default=None)
    tier_since = Timestamptz(null=True, default=None)
    tier_review_at = Timestamptz(null=True, default=None)  # when a lower tier may apply (period end + grace)
    referred_by = UUID(null=True, default=None)  # the member who referred this one (推荐人)
    status = Varchar(length=12, default="active")
    data_key = Text(null=True, default=None)  # the member's data key, wrapped; deleted by erasure
    key_fp = Varchar(length=16, null=True, default=None)  # the master key that wrapped it (None: before keys)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Credential(Table, tablename="credential"):
    """Something a member identifies with: card UID, magstripe, QR/barcode token, openid.

    ``state``: active, lost, replaced or blocked. At most one active credential per value
    (a partial unique index added by the migration).
    """

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=16)
    value_hash = Varchar(length=64)
    value_enc = Text()
    value_hint = Varchar(length=32, default="")
    state = Varchar(length=10, default="active")
    replaces_id = UUID(null=True, default=None)
    store_id = UUID(null=True, default=None)
    issued_at = Timestamptz()
    changed_at = Timestamptz()


class EncryptionKey(Table, tablename="encryption_key"):
    """A master key the database knows by its fingerprint: ``current`` (seals new data),
    ``retiring`` (a rotation is moving data off it) or ``retired``. A server whose key is not the
    current one refuses to start."""

    fingerprint = Varchar(length=16, primary_key=True)
    state = Varchar(length=10)
    created_at = Timestamptz()
    retired_at = Timestamptz(null=True, default=None)


class MemberConsent(Table, tablename="member_consent"):
    """One change of a member's consent to a purpose (marketing, SMS, e-mail, profiling…), with
    who recorded it and through what: the history PIPL asks a business to be able to show."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict)
    purpose = Varchar(length=32)
    granted = Boolean()
    source = Varchar(length=32, default="")
    actor = Varchar(length=100, default="")
    recorded_at = Timestamptz()


class MemberNote(Table, tablename="member_note"):
    """A staff member's note about a member, sealed under the member's data key
    (:mod:`membership.members.notes`)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    member_id = ForeignKey(Member, on_delete=OnDelete.restrict)
    body_enc = Text()
    author = Varchar(length=100, default="")
    created_at = Timestamptz()


class MemberMerge(Table, tablename="member_merge"):
    """Members merged into one (会员合并): ``merged`` (JSON list of ids) into ``survivor``, what
    their accounts held (``moved``, JSON by member and account kind), the survivor's tier before
    it, and the undo when there was one (within a day). :mod:`membership.members.merge`."""

    id = UUID(primary_key=True)
    program_id = UUID()
    survivor_id = ForeignKey(Member, on_delete=OnDelete.restrict, index=True)
    merged = Text(default="[]")
    moved = Text(default="{}")
    reason = Text(default="")
    actor = Varchar(length=100, default="")
    posting_id = UUID(null=True, default=None)
    survivor_tier = Varchar(length=32, null=True, default=None)
    survivor_tier_since = Timestamptz(null=True, default=None)
    survivor_review_at = Timestamptz(null=True, default=None)
    merged_tier = Varchar(length=32, null=True, default=None)  # the tier the merge gave the survivor
    created_at = Timestamptz()
    undone_at = Timestamptz(null=True, default=None)
    undone_by = Varchar(length=100, default="")
    undo_reason = Text(default="")
    undo_posting_id = UUID(null=True, default=None)


class MemberMergeMove(Table, tablename="member_merge_move"):
    """One row a merge moved to the survivor: its ``kind`` (``member`` for a merged member, whose
    row forwards to the survivor; ``points_lot``, ``value_lot``, ``credential``, ``sale``,
    ``coupon``, ``coupon_occasion``, ``tier_change``, ``paid_membership``, ``tier_assignment``), the row's id and where
    it came from (``from_id``: the account or member); ``note`` keeps a renamed coupon occasion."""

    id = UUID(primary_key=True)
    merge_id = ForeignKey(MemberMerge, on_delete=OnDelete.restrict)
    kind = Varchar(length=24)
    row_id = UUID()
    from_id = UUID(null=True, default=None)
    note = Text(null=True, default=None)
