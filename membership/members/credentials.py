"""Credential kinds and states."""

from __future__ import annotations

from enum import StrEnum


class CredentialKind(StrEnum):
    """How a member identifies at a till or in an app."""

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


KIND_NAMES_ZH = {
    "card_uid": "会员卡",
    "magstripe": "磁条卡",
    "qr_token": "会员码",
    "barcode": "条码",
    "phone": "手机号",
    "wechat_openid": "微信",
}


def hint(value: str) -> str:
    """What staff may see of a credential value: its last four characters."""
    return value[-4:]
