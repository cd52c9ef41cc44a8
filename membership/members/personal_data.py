"""Personal data at rest: AES-GCM encryption, keyed hashes for exact lookup, masking.

Keys are derived (HKDF-SHA256) from the program installation's master key, one for encryption
and one for hashing, so a leaked hash key reveals nothing encrypted. Each ciphertext is bound to
its field name (associated data): a phone ciphertext cannot be passed off as an e-mail.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from membership.errors import InvalidEmail, InvalidPhone, NotConfigured

VERSION = "v1"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class Vault:
    """Encrypts, decrypts and hashes personal data with keys derived from one master key."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(_derive(master_key, b"membership/personal-data/encrypt/v1"))
        self._hash_key = _derive(master_key, b"membership/personal-data/lookup-hash/v1")

    def encrypt(self, field: str, value: str) -> str:
        """Ciphertext of ``value`` bound to ``field``: ``v1.<base64(nonce | ciphertext)>``."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), field.encode())
        return f"{VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, field: str, token: str) -> str:
        """The plaintext of a token :meth:`encrypt` made for ``field``."""
        version, _, payload = token.partition(".")
        if version != VERSION:
            raise NotConfigured(what="personal data", hint=f"unknown ciphertext version {version!r}")
        raw = base64.urlsafe_b64decode(payload)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], field.encode()).decode()
        except InvalidTag as exc:
            raise NotConfigured(what="secret_key", hint="personal data was encrypted with another key") from exc

    def lookup_hash(self, field: str, value: str) -> str:
        """A keyed hash of a canonical value: equal values match, nothing can be read back."""
        return hmac.new(self._hash_key, f"{field}\x00{value}".encode(), hashlib.sha256).hexdigest()


@functools.cache
def _vault_for(master_key: bytes) -> Vault:
    return Vault(master_key)


def vault() -> Vault:
    """The vault of the current settings' master key."""
    from membership.db.engine import current_settings

    return _vault_for(current_settings().master_key())


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
