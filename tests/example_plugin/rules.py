"""An example plugin module: a weekend bonus rule."""

from membership import hookimpl
from membership.ledger.rules import Award


@hookimpl
def membership_points_awards(context):
    if context.occurred_at.weekday() >= 5:
        return [Award("weekend", 10, "周末到店 +10")]
    return None
