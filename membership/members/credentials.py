"""Credential kinds and states.

A credential kind (会员卡, 会员码, a bank's card…) is registered by a plugin through the
``membership_register_credential_kinds`` hook as a :class:`CredentialKindSpec`: its name, what
staff call it, how a value is normalised and shown, and whether it is secret. The built-in
identity plugin registers the kinds in :class:`CredentialKind` that way; a pack adds its own.
The API, the services, the readers and the console accept the registered kinds and refuse any
other with :class:`UnknownCredentialKind`, which lists them (``GET /api/v1/credential-kinds``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import msgspec

from membership.errors import Reason, ValidationError

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,15}$"  # the ``credential.kind`` column holds 16 characters
HINT_MAX = 32  # the ``value_hint`` column
SECRET_HINT = "******"  # what staff see of a secret kind's value
_NAME = re.compile(NAME_PATTERN)

CredentialKindName = Annotated[
    str,
    msgspec.Meta(
        pattern=NAME_PATTERN,
        description="A registered credential kind (card_uid, magstripe, qr_token, barcode, wechat_openid, phone,"
        " or one a plugin adds): the list is GET /api/v1/credential-kinds",
        examples=["card_uid"],
    ),
]

if TYPE_CHECKING:
    from membership.org.service import ProgramConfig


class CredentialKind(StrEnum):
    """The built-in kinds (how a member identifies at a till or in an app); plugins add others."""

    CARD_UID = "card_uid"
    MAGSTRIPE = "magstripe"
    QR_TOKEN = "qr_token"
    BARCODE = "barcode"
    PHONE = "phone"
    WECHAT_OPENID = "wechat_openid"


class CredentialState(StrEnum):
    """A credential's life: active until lost, replaced or blocked."""

    ACTIVE = "active"
    LOST = "lost"
    REPLACED = "replaced"
    BLOCKED = "blocked"


class UnknownCredentialKind(ValidationError):
    """A credential kind no plugin registered; the message lists the known ones."""

    code = "unknown_credential_kind"
    message_en = "Unknown credential kind {kind!r}. Known kinds: {known}."
    message_zh = "未知的凭证类型 “{kind}”。可用的类型：{known}。"


def hint(value: str) -> str:
    """What staff may see of a credential value: its last four characters."""
    return value[-4:]


def shown(value_hint: str) -> str:
    """A stored hint as staff read it: a mask (``622202******1234``) as it is, a last-four hint
    after an ellipsis (``…7A21``), a secret kind's (empty) hint as ``******``."""
    if not value_hint:
        return SECRET_HINT
    return value_hint if "*" in value_hint else f"…{value_hint}"


def _strip(value: str) -> str:
    return value.strip()


@dataclasses.dataclass(frozen=True)
class CredentialKindSpec:
    """A kind of credential members identify with, as a plugin registers it.

    :param name: the code clients send (``bank_card``): lower-case letters, digits and ``_``,
        starting with a letter, at most 16 characters. Unique across plugins.
    :param label_zh: what Chinese-speaking staff call it (``银行卡``).
    :param label_en: the English name, a noun as it reads inside a sentence (``bank card``).
    :param normalize: the value as read or typed → its canonical form (what is hashed, stored
        and compared). It raises a :class:`~membership.errors.ValidationError` with a
        :class:`~membership.errors.Reason` for a value that cannot be one (a failed check digit);
        default: trimmed.
    :param mask: the canonical value → what staff may see of it, at most 32 characters
        (``622202******1234``); default: the last four characters.
    :param secret: a value nobody may read back (an ID-card number, a bank card number): it is
        never returned (not even by the request that issued it) nor shown by the console or the
        readers, only its keyed hash finds it; no hint is kept unless the kind gives its own
        ``mask`` (a bank card's first six and last four digits), which is then all staff see.
        Its value is still sealed under the member's data key, for two uses only: a key rotation
        recomputes the hash from it (a hash alone could not be moved to a new key, and the
        credential would stop identifying anyone), and the member's own data export (PIPL art.
        45, audited) gives it back to them, as it gives the profile's ID number. Erasure deletes
        it with the member's data key.
    :param issuable: bound to a member by issuing it (发卡); False for a kind found another way
        (the phone in the member's profile, a bank's customer number its own hook resolves).
    :param at_counter: staff present it at the counter or in the console (card readers,
        scanners, typing): the console offers it when issuing, and the member search tries it.
    :param generate: makes a fresh value when a credential of this kind is issued without one
        (member QR codes); None: a value is required.
    """

    name: str
    label_zh: str
    label_en: str
    normalize: Callable[[str], str] = _strip
    mask: Callable[[str], str] = hint
    secret: bool = False
    issuable: bool = True
    at_counter: bool = True
    generate: Callable[[], str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValidationError(
                field="credential kind",
                reason=Reason(
                    f"{self.name!r}: lower-case letters, digits and _, starting with a letter, at most 16",
                    f"{self.name!r}：只能由小写字母、数字和 _ 组成，以字母开头，最多 16 个字符",
                ),
            )
        if not (self.label_zh.strip() and self.label_en.strip()):
            raise ValidationError(
                field="credential kind",
                reason=Reason(f"{self.name!r} needs a Chinese and an English label", f"{self.name!r} 须有中英文名称"),
            )

    def label(self, language: str = "zh") -> str:
        """The kind's name for a reader of ``language`` (``zh``, ``zh_CN``, ``en``…)."""
        return self.label_zh if language.lower().startswith("zh") else self.label_en

    @property
    def labels(self) -> Reason:
        """Both names, as an error parameter renders them in the reader's language."""
        return Reason(self.label_en, self.label_zh)

    def hint_of(self, canonical: str) -> str:
        """What is kept to show of ``canonical``: its mask; nothing for a secret kind, unless the
        kind gives a mask of its own (a bank card's ``622202******1234``, which card rules allow
        to be shown: the number itself is still never returned)."""
        if self.secret and self.mask is hint:
            return ""
        return self.mask(canonical)[-HINT_MAX:]


def credential_kinds(program: ProgramConfig | None = None) -> dict[str, CredentialKindSpec]:
    """The registered credential kinds by name, the built-in ones first (in ``program``: without
    those of per-program plugins that are off there)."""
    from membership.plugins import hooks

    return hooks().credential_kinds(program)


def credential_kind(name: str, program: ProgramConfig | None = None) -> CredentialKindSpec:
    """The registered kind called ``name`` (in ``program``, as :func:`credential_kinds`);
    :class:`UnknownCredentialKind` listing the known kinds (with their names in the reader's
    language) when there is none."""
    kinds = credential_kinds(program)
    spec = kinds.get(name)
    if spec is None:
        known = Reason(
            ", ".join(f"{k} ({s.label_en})" for k, s in kinds.items()),
            "、".join(f"{k}（{s.label_zh}）" for k, s in kinds.items()),
        )
        raise UnknownCredentialKind(
            field="kind",
            kind=name,
            known=known,
            reason=Reason(
                f"unknown kind {name!r}; known: {', '.join(kinds)}", f"未知的类型 “{name}”；可用：{'、'.join(kinds)}"
            ),
        )
    return spec


def issuable_kind(name: str, program: ProgramConfig | None = None) -> CredentialKindSpec:
    """The registered kind ``name`` when it is issued to members (发卡); refused otherwise, the
    reason naming the kinds that are."""
    spec = credential_kind(name, program)
    if not spec.issuable:
        issuable = ", ".join(k for k, s in credential_kinds(program).items() if s.issuable)
        raise ValidationError(
            field="kind",
            reason=Reason(
                f"a {spec.label_en} is not issued to members, who are identified by it another way"
                f" (issued kinds: {issuable})",
                f"{spec.label_zh}无需绑定，会员以其他方式通过它识别（可发放的类型：{issuable}）",
            ),
        )
    return spec
