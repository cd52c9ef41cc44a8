"""A plugin's secrets about a member (a pass's QR-code key, a token of another system), sealed
under the member's data key like the member's own personal data.

The plugin keeps the sealed text in its own table; only :func:`open_member_secret` reads it back.
A key rotation leaves it readable (it re-wraps the member's data key, which stays the same), and
erasing the member makes it unreadable for good (the data key is deleted). Each secret is bound to
the member and to the plugin's ``field`` (``plugin:<field>`` as associated data), so it cannot be
opened as another member's, as another field, or as one of the kernel's own ciphertexts.
"""

from __future__ import annotations

import re
import uuid

from membership.db import use_case
from membership.errors import Reason, ValidationError
from membership.members import personal_data as pd
from membership.members.rotation import member_cipher
from membership.members.service import active_member

_FIELD = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")


def _field(field: str) -> str:
    if not isinstance(field, str) or not _FIELD.match(field):
        raise ValidationError(
            field="field",
            reason=Reason(
                "lower-case letters, digits and _ . : -, starting with a letter, at most 64",
                "只能由小写字母、数字和 _ . : - 组成，以字母开头，最多 64 个字符",
            ),
        )
    return f"plugin:{field}"


@use_case
async def seal_member_secret(member_id: uuid.UUID, field: str, value: str) -> str:
    """``value`` sealed under the member's data key for the plugin's ``field`` (``tourism:pass``):
    text to keep in the plugin's own table. ``MemberNotFound``/``MemberErased`` for a member who
    cannot be used. A member from before data keys gets one first (their data re-sealed)."""
    name = _field(field)
    row = await active_member(member_id)
    return (await member_cipher(row)).seal(name, value)


async def open_member_secret(member_id: uuid.UUID, field: str, token: str) -> str:
    """The value :func:`seal_member_secret` sealed for the member and ``field``.
    ``MemberErased`` once the member is erased; ``NotConfigured`` for a token that is not theirs."""
    name = _field(field)
    return pd.member_cipher(await active_member(member_id)).open(name, token)
