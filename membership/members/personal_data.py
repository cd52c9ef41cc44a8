"""Personal data at rest: AES-GCM encryption, keyed hashes for exact lookup, masking.

Every member has a data key of their own (32 random bytes), kept wrapped (AES-GCM) under a key
derived from the installation's master key. Their phone, e-mail, ID number, address and card
values are sealed under it, each ciphertext bound to the member and the field (associated
data): a phone cannot be passed off as an e-mail, nor one member's as another's. Erasing a
member deletes their data key, so every copy of their ciphertexts becomes unreadable.

Keyed hashes (HMAC-SHA256 under another derived key) beside the ciphertexts let an exact value
be found (identify by phone or card) without decrypting anything. A master key is known by its
fingerprint (:func:`fingerprint`), which the database keeps to refuse a wrong key at start
(:mod:`membership.members.keyring`). Ciphertexts from before data keys (``v1.``, sealed with the
master-derived key directly) are still read, and re-sealed by ``membership keys rotate``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
import uuid

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from membership.errors import InvalidEmail, InvalidPhone, NotConfigured

VERSION = "v1"  # sealed with the master-derived key (before member data keys)
SEALED = "d1"  # sealed with the member's data key
WRAPPED = "k1"  # a member's data key, wrapped with the master-derived key
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def fingerprint(master_key: bytes) -> str:
    """A master key's name: 16 hex digits of a keyed hash, which reveal nothing of the key."""
    return hmac.new(_derive(master_key, b"membership/key-fingerprint/v1"), b"fingerprint", "sha256").hexdigest()[:16]


def _seal(aead: AESGCM, version: str, value: bytes, context: bytes) -> str:
    nonce = os.urandom(12)
    return f"{version}.{base64.urlsafe_b64encode(nonce + aead.encrypt(nonce, value, context)).decode()}"


def _open(aead: AESGCM, token: str, context: bytes) -> bytes:
    raw = base64.urlsafe_b64decode(token.partition(".")[2])
    return aead.decrypt(raw[:12], raw[12:], context)


class Vault:
    """The keys derived from one master key: wrapping members' data keys, the legacy cipher,
    and the lookup hash."""

    def __init__(self, master_key: bytes) -> None:
        self.fingerprint = fingerprint(master_key)
        self._aead = AESGCM(_derive(master_key, b"membership/personal-data/encrypt/v1"))
        self._wrap = AESGCM(_derive(master_key, b"membership/personal-data/wrap-member-key/v1"))
        self._hash_key = _derive(master_key, b"membership/personal-data/lookup-hash/v1")

    def encrypt(self, field: str, value: str) -> str:
        """Ciphertext of ``value`` bound to ``field`` under the master-derived key
        (``v1.<base64(nonce | ciphertext)>``): for data that belongs to no member."""
        return _seal(self._aead, VERSION, value.encode(), field.encode())

    def decrypt(self, field: str, token: str) -> str:
        """The plaintext of a token :meth:`encrypt` made for ``field``."""
        version = token.partition(".")[0]
        if version != VERSION:
            raise NotConfigured(what="personal data", hint=f"unknown ciphertext version {version!r}")
        try:
            return _open(self._aead, token, field.encode()).decode()
        except InvalidTag as exc:
            raise NotConfigured(what="secret_key", hint="personal data was encrypted with another key") from exc

    def wrap(self, member_id: uuid.UUID, data_key: bytes) -> str:
        """A member's data key, sealed for storage beside the member."""
        return _seal(self._wrap, WRAPPED, data_key, f"member-key/{member_id}".encode())

    def unwrap(self, member_id: uuid.UUID, token: str) -> bytes:
        """The data key :meth:`wrap` sealed; ``NotConfigured`` under another master key."""
        try:
            return _open(self._wrap, token, f"member-key/{member_id}".encode())
        except InvalidTag as exc:
            raise NotConfigured(what="secret_key", hint="personal data was encrypted with another key") from exc

    def lookup_hash(self, field: str, value: str) -> str:
        """A keyed hash of a canonical value: equal values match, nothing can be read back."""
        return hmac.new(self._hash_key, f"{field}\x00{value}".encode(), hashlib.sha256).hexdigest()


class MemberCipher:
    """Seals and opens one member's personal data with their data key; hashes with the vault
    whose master key wrapped it."""

    def __init__(
        self, member_id: uuid.UUID, vault: Vault, data_key: bytes | None, legacy: tuple[Vault, ...] = ()
    ) -> None:
        self.member_id = member_id
        self.vault = vault
        self._data_key = data_key
        self._aead = AESGCM(data_key) if data_key is not None else None
        self._legacy = legacy or (vault,)  # who may have sealed a row's ``v1.`` tokens

    @classmethod
    def new(cls, member_id: uuid.UUID, vault: Vault) -> tuple[MemberCipher, str]:
        """A fresh data key for a new member, and its wrapped form to store."""
        data_key = AESGCM.generate_key(bit_length=256)
        return cls(member_id, vault, data_key), vault.wrap(member_id, data_key)

    def rewrapped(self, vault: Vault) -> tuple[MemberCipher, str]:
        """This member's cipher under another master key (the same data key, so the sealed data
        stays as it is; a new one for a member from before data keys), and the wrapped key."""
        if self._data_key is None:
            return MemberCipher.new(self.member_id, vault)
        return MemberCipher(self.member_id, vault, self._data_key), vault.wrap(self.member_id, self._data_key)

    def _context(self, field: str) -> bytes:
        return f"{self.member_id}/{field}".encode()

    def seal(self, field: str, value: str) -> str:
        """``value`` sealed under the member's data key, bound to the member and ``field``."""
        if self._aead is None:
            raise NotConfigured(what="personal data", hint="the member has no data key (erased?)")
        return _seal(self._aead, SEALED, value.encode(), self._context(field))

    def open(self, field: str, token: str) -> str:
        """The plaintext of a token of this member (sealed, or from before data keys)."""
        if token.startswith(f"{VERSION}."):
            for candidate in self._legacy[:-1]:
                try:
                    return candidate.decrypt(field, token)
                except NotConfigured:
                    continue
            return self._legacy[-1].decrypt(field, token)
        if self._aead is None or not token.startswith(f"{SEALED}."):
            raise NotConfigured(what="personal data", hint="unreadable ciphertext")
        try:
            return _open(self._aead, token, self._context(field)).decode()
        except InvalidTag as exc:
            raise NotConfigured(what="personal data", hint="a ciphertext does not belong to this member") from exc

    def lookup_hash(self, field: str, value: str) -> str:
        """The keyed hash the member's rows keep for ``value``."""
        return self.vault.lookup_hash(field, value)


@functools.cache
def _vault_for(master_key: bytes) -> Vault:
    return Vault(master_key)


def vaults() -> list[Vault]:
    """The vaults of every configured master key, the current one first (the others while a
    key rotation moves personal data to it)."""
    from membership.db.engine import current_settings

    return [_vault_for(key) for key in current_settings().master_keys()]


def vault() -> Vault:
    """The vault of the current master key: new data is sealed and hashed with it."""
    return vaults()[0]


def vault_of(key_fingerprint: str | None, token: str | None = None, member_id: uuid.UUID | None = None) -> Vault:
    """The configured vault whose master key has ``key_fingerprint``. Rows from before
    fingerprints (None) name none: the vault that opens their wrapped ``token`` (or the legacy
    ciphertext), trying each configured key."""
    candidates = vaults()
    if key_fingerprint is not None:
        for candidate in candidates:
            if candidate.fingerprint == key_fingerprint:
                return candidate
        raise NotConfigured(
            what="secret_key",
            hint=f"personal data is sealed under key {key_fingerprint}, which is not configured",
        )
    if token is not None and len(candidates) > 1:
        for candidate in candidates:
            try:
                if token.startswith(f"{WRAPPED}.") and member_id is not None:
                    candidate.unwrap(member_id, token)
                return candidate
            except NotConfigured:
                continue
    return candidates[0]


def member_cipher(row: dict) -> MemberCipher:
    """The cipher of a member's row (``id``, ``data_key``, ``key_fp``)."""
    wrapped = row.get("data_key")
    chosen = vault_of(row.get("key_fp"), wrapped, row["id"])
    legacy = tuple(vaults()) if row.get("key_fp") is None else ()
    return MemberCipher(row["id"], chosen, chosen.unwrap(row["id"], wrapped) if wrapped else None, legacy)


def lookup_hashes(field: str, value: str) -> list[str]:
    """The keyed hashes of ``value`` under every configured key: during a key rotation a row may
    still carry the old one."""
    return [candidate.lookup_hash(field, value) for candidate in vaults()]


def normalize_phone(value: str, region: str = "CN") -> str:
    """E.164 form of a phone number (``+8613812345678``); ``InvalidPhone`` when it is not one."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(value=value) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(value=value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str:
    """Trimmed, lower-cased e-mail address; ``InvalidEmail`` when it cannot be one."""
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidEmail(value=value)
    return email


def mask_phone(e164: str) -> str:
    """``+8613812345678`` → ``138****5678`` (national digits, middle hidden)."""
    national = str(phonenumbers.parse(e164).national_number)
    if len(national) <= 7:
        return national[:2] + "*" * (len(national) - 4) + national[-2:]
    return national[:3] + "*" * (len(national) - 7) + national[-4:]


def mask_email(email: str) -> str:
    """``zhang.wei@example.com`` → ``z***@example.com``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_id_number(value: str) -> str:
    """``110101199003071234`` → ``110***********1234``."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str) -> str:
    """Keep the first six characters (province, city), hide the rest."""
    return value[:6] + ("***" if len(value) > 6 else "")
