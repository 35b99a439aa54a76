"""Encryption of personal data at rest (AES-256-GCM with key ids) and blind indexes (HMAC).

Ciphertexts are bound to their row and purpose through the associated data, so a ciphertext
copied to another user's row does not decrypt. Keys carry ids so they can be rotated: new data
is encrypted with the active key, old data stays readable until `selflink-api pii rotate-key`
re-encrypts it.
"""

import base64
import functools
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from selflink_api.settings import Settings

NONCE_BYTES = 12
KEY_BYTES = 32
DERIVED_KEY_ID = "derived-1"


class UnknownKeyError(LookupError):
    """A ciphertext names a key id that is not configured."""


class DecryptionError(ValueError):
    """The ciphertext was altered, or belongs to another row or purpose."""


@dataclass(frozen=True)
class Encrypted:
    key_id: str
    blob: bytes  # nonce || ciphertext+tag


class PersonalDataCipher:
    def __init__(self, keys: dict[str, bytes], active_key_id: str, index_key: bytes) -> None:
        if active_key_id not in keys:
            msg = f"the active key id {active_key_id!r} is not among the configured keys"
            raise ValueError(msg)
        if any(len(key) != KEY_BYTES for key in keys.values()) or len(index_key) < KEY_BYTES:
            msg = "personal-data keys must be 32 bytes"
            raise ValueError(msg)
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id
        self._index_key = index_key

    def encrypt(self, plaintext: bytes, *, context: bytes) -> Encrypted:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._keys[self.active_key_id].encrypt(nonce, plaintext, context)
        return Encrypted(self.active_key_id, nonce + ciphertext)

    def decrypt(self, encrypted: Encrypted, *, context: bytes) -> bytes:
        key = self._keys.get(encrypted.key_id)
        if key is None:
            raise UnknownKeyError(encrypted.key_id)
        nonce, ciphertext = encrypted.blob[:NONCE_BYTES], encrypted.blob[NONCE_BYTES:]
        try:
            return key.decrypt(nonce, ciphertext, context)
        except InvalidTag as exc:
            raise DecryptionError from exc

    def blind_index(self, purpose: str, value: str) -> str:
        """A keyed hash to find a row by an exact value without storing the value."""
        message = purpose.encode() + b"\x00" + value.encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def _decode_key(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(
        secret.encode()
    )


def build_cipher(settings: Settings) -> PersonalDataCipher:
    """Keys from `PII_KEYS` / `PII_INDEX_KEY`; outside production, derived from `SECRET_KEY`.

    The same settings give the same cipher, built once (`_cipher`): deriving its keys cost a
    job that reads one message more than the read."""
    configured = settings.pii_keys.get_secret_value()
    index_text = settings.pii_index_key.get_secret_value()
    derives = not configured or not index_text
    secret = settings.secret_key.get_secret_value() if derives else ""
    return _cipher(configured, settings.pii_active_key_id, index_text, secret)


@functools.lru_cache(maxsize=8)
def _cipher(
    configured: str, active_key_id: str, index_text: str, secret: str
) -> PersonalDataCipher:
    if configured:
        keys = {}
        for entry in configured.split(","):
            key_id, _, encoded = entry.strip().partition(":")
            keys[key_id] = _decode_key(encoded)
        active = active_key_id or next(reversed(keys))
    else:
        keys = {DERIVED_KEY_ID: _derive(secret, b"selflink pii")}
        active = DERIVED_KEY_ID
    index_key = _decode_key(index_text) if index_text else _derive(secret, b"selflink pii index")
    return PersonalDataCipher(keys, active, index_key)


def generate_key() -> str:
    """A new random key in the `PII_KEYS` / `PII_INDEX_KEY` text form."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode().rstrip("=")


def token_digest(token: str) -> str:
    """How bearer secrets (refresh, reset, verification tokens) are stored: never in clear."""
    return hashlib.sha256(token.encode()).hexdigest()


Row = TypeVar("Row", bound=Any)


@dataclass(frozen=True)
class EncryptedStore(Generic[Row]):
    """A table sealed with the personal-data cipher, which `pii rotate-key` re-seals.

    `context` gives the associated data a row was sealed with; `label` names the rows in the
    command's report ("personal-data records").
    """

    label: str
    model: type[Row]
    context: Callable[[Row], bytes]

    async def reseal(
        self, session: AsyncSession, cipher: PersonalDataCipher, batch_size: int = 500
    ) -> int:
        """Seal rows still under an older key with the active one; returns how many changed.

        The contents stay the same, so `updated_at` does too: a new seal is not an edit.
        """
        model: Any = self.model
        changed = 0
        while True:
            rows = (
                await session.scalars(
                    select(model)
                    .where(model.key_id != cipher.active_key_id, model.ciphertext.is_not(None))
                    .order_by(model.id)
                    .limit(batch_size)
                )
            ).all()
            if not rows:
                return changed
            for row in rows:
                bound = self.context(row)
                plaintext = cipher.decrypt(Encrypted(row.key_id, row.ciphertext), context=bound)
                sealed = cipher.encrypt(plaintext, context=bound)
                row.key_id, row.ciphertext = sealed.key_id, sealed.blob
                flag_modified(row, "updated_at")
            changed += len(rows)
            await session.flush()
