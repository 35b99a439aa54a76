"""Composing and delivering outgoing email through the outbox."""

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import aiosmtplib
import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.email.models import OutboxMessage, OutboxStatus
from selflink_api.platform.crypto import Encrypted, PersonalDataCipher
from selflink_api.settings import Settings


class Email(msgspec.Struct):
    to: str
    subject: str
    body: str


def sealing_context(message_id: UUID) -> bytes:
    """The associated data binding an email to its outbox row."""
    return b"outbox:" + message_id.bytes


async def add_email(
    session: AsyncSession,
    cipher: PersonalDataCipher,
    *,
    user_id: UUID | None,
    kind: str,
    email: Email,
) -> OutboxMessage:
    """Store an email in the caller's transaction; the caller enqueues its delivery job."""
    message = OutboxMessage(user_id=user_id, kind=kind, key_id="", ciphertext=None)
    session.add(message)
    await session.flush()
    sealed = cipher.encrypt(msgspec.json.encode(email), context=sealing_context(message.id))
    message.key_id, message.ciphertext = sealed.key_id, sealed.blob
    await session.flush()
    return message


def read_email(cipher: PersonalDataCipher, message: OutboxMessage) -> Email | None:
    if message.ciphertext is None:
        return None
    plaintext = cipher.decrypt(
        Encrypted(message.key_id, message.ciphertext), context=sealing_context(message.id)
    )
    return msgspec.json.decode(plaintext, type=Email)


async def deliver(
    session: AsyncSession, cipher: PersonalDataCipher, settings: Settings, message_id: UUID
) -> None:
    """Send one pending message by SMTP; without SMTP, hold it for local reading."""
    message = await session.get(OutboxMessage, message_id)
    if message is None or message.status in {OutboxStatus.SENT, OutboxStatus.HELD}:
        return
    email = read_email(cipher, message)
    smtp_url = settings.smtp_url.get_secret_value()
    if email is None:
        message.status = OutboxStatus.FAILED
        message.last_error = "nothing to send"
        return
    if not smtp_url:
        message.status = OutboxStatus.HELD
        return
    message.attempts += 1
    await _send(smtp_url, settings.mail_from, email)
    message.status = OutboxStatus.SENT
    message.sent_at = datetime.now(UTC)
    message.ciphertext = None  # the token inside is no longer needed once delivered


async def _send(smtp_url: str, sender: str, email: Email) -> None:
    parsed = aiosmtplib_url(smtp_url)
    mime = EmailMessage()
    mime["From"], mime["To"], mime["Subject"] = sender, email.to, email.subject
    mime.set_content(email.body)
    await aiosmtplib.send(mime, **parsed)


def aiosmtplib_url(url: str) -> dict[str, Any]:
    """Connection options from `SMTP_URL`.

    `smtps://user:pass@host:465` uses TLS from the start, `smtp://…:587` requires STARTTLS, and
    `smtp+plain://host:25` sends unencrypted (only for a relay on the same host or network).
    """
    parts = urlsplit(url)
    implicit_tls = parts.scheme == "smtps"
    plain = parts.scheme == "smtp+plain"
    return {
        "hostname": parts.hostname,
        "port": parts.port or (465 if implicit_tls else 25 if plain else 587),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_tls": implicit_tls,
        "start_tls": not (plain or implicit_tls),
    }


async def held_messages(session: AsyncSession, limit: int = 50) -> list[OutboxMessage]:
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.HELD)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def forget_user_messages(session: AsyncSession, user_id: UUID) -> None:
    await session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user_id))
