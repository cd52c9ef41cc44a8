"""The plugin's own table. Its name starts with the plugin's, so it never meets another's."""

from piccolo.columns import UUID, BigInt, Timestamptz
from piccolo.table import Table


class Record(Table, tablename="{{ cookiecutter.underscored }}_record"):
    """One event the plugin handled: ``event_id`` is unique, so a repeated delivery adds nothing."""

    id = UUID(primary_key=True)
    event_id = UUID(unique=True)
    program_id = UUID()
    member_id = UUID(null=True, default=None)
    amount = BigInt(default=0)
    created_at = Timestamptz()
