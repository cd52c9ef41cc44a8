"""A plugin table, as a pack would add one."""

from piccolo.columns import UUID, Varchar
from piccolo.table import Table


class Visit(Table, tablename="example_visit"):
    id = UUID(primary_key=True)
    member_id = UUID()
    note = Varchar(length=100)
