"""Web Push with VAPID (RFC 8030, 8291, 8292) through `pywebpush`, from the `push_deliveries`
outbox.

A sender first claims a delivery in its own committed transaction (a lease: `lease_until`,
`lease_owner`), then sends, then marks it sent only if it still holds the lease. A worker that
dies between the claim and the mark leaves the lease to expire; the every-minute sweep then
sends it again. The push carries the delivery id and a `Topic` naming it, so in the one case
that can repeat a send (a death after the push service accepted it, before the mark) the push
service replaces the undelivered copy and the client drops an id it already showed.
"""

import base64
import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import msgspec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.notifications.models import PushDelivery, PushDevice, PushStatus
from selflink_api.notifications.services import views
from selflink_api.settings import Settings

PUSH_TIMEOUT_SECONDS = 10
PUSH_TTL_SECONDS = 24 * 3600
PRUNED_STATUSES = frozenset({404, 410})
"""The push service says the subscription is gone: the device is removed."""


def vapid_key(settings: Settings) -> Vapid02 | None:
    raw = settings.vapid_private_key.get_secret_value()
    return Vapid02.from_string(raw) if raw else None


def application_server_key(settings: Settings) -> str | None:
    """The VAPID public key as browsers want it: base64url of the uncompressed point."""
    key = vapid_key(settings)
    if key is None:
        return None
    point = key.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


@dataclass(frozen=True)
class Claimed:
    delivery_id: UUID
    device_id: UUID
    endpoint: str
    p256dh: str
    auth: str
    payload: bytes
    attempts: int


class Outcome(enum.Enum):
    SENT = "sent"
    GONE = "gone"
    RETRY = "retry"


async def claim(
    session: AsyncSession, delivery_id: UUID, owner: UUID, now: datetime, lease_seconds: int
) -> Claimed | None:
    """Take the lease on a due, pending delivery nobody holds; None if it is not ours to send.

    The caller commits before sending, so the lease is visible to every other sender.
    """
    taken = await session.execute(
        update(PushDelivery)
        .where(
            PushDelivery.id == delivery_id,
            PushDelivery.status == PushStatus.PENDING,
            PushDelivery.not_before <= now,
            or_(PushDelivery.lease_until.is_(None), PushDelivery.lease_until <= now),
        )
        .values(
            lease_until=now + timedelta(seconds=lease_seconds),
            lease_owner=owner,
            attempts=PushDelivery.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        return None
    delivery = await session.get_one(PushDelivery, delivery_id, populate_existing=True)
    device = await session.get_one(PushDevice, delivery.device_id)
    (view,) = await views(session, [delivery.notification_id])
    payload = msgspec.json.encode({"delivery_id": delivery.id, "notification": view})
    return Claimed(
        delivery.id,
        device.id,
        device.endpoint,
        device.p256dh,
        device.auth,
        payload,
        delivery.attempts,
    )


async def send(settings: Settings, claimed: Claimed) -> tuple[Outcome, str]:
    """One Web Push request; the outcome and, when it failed, why (no body, no token)."""
    key = vapid_key(settings)
    if key is None:
        return Outcome.RETRY, "no VAPID key configured"
    try:
        await webpush_async(
            subscription_info={
                "endpoint": claimed.endpoint,
                "keys": {"p256dh": claimed.p256dh, "auth": claimed.auth},
            },
            data=claimed.payload.decode(),
            vapid_private_key=key,
            vapid_claims={"sub": settings.vapid_subject},
            ttl=PUSH_TTL_SECONDS,
            timeout=PUSH_TIMEOUT_SECONDS,
            headers={"Topic": claimed.delivery_id.hex[:32], "Urgency": "normal"},
        )
    except WebPushException as exc:
        status = getattr(exc.response, "status", None)
        if status in PRUNED_STATUSES:
            return Outcome.GONE, f"HTTP {status}"
        return Outcome.RETRY, f"HTTP {status}" if status else "push refused"
    except Exception as exc:  # a network error: the delivery is tried again later
        return Outcome.RETRY, type(exc).__name__
    return Outcome.SENT, ""


async def settle(
    session: AsyncSession,
    claimed: Claimed,
    owner: UUID,
    outcome: Outcome,
    error: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Record what happened, if the lease is still ours (an expired lease was taken over)."""
    ours = (PushDelivery.id == claimed.delivery_id, PushDelivery.lease_owner == owner)
    if outcome is Outcome.GONE:
        if await session.scalar(select(PushDelivery.id).where(*ours)) is not None:
            await session.execute(delete(PushDevice).where(PushDevice.id == claimed.device_id))
        return
    values: dict[str, object]
    if outcome is Outcome.SENT:
        values = {"status": PushStatus.SENT, "sent_at": now, "last_error": None}
    elif claimed.attempts >= settings.push_attempts:
        values = {"status": PushStatus.FAILED, "last_error": error[:200]}
    else:
        delay = settings.push_retry_seconds * 2 ** (claimed.attempts - 1)
        values = {"not_before": now + timedelta(seconds=delay), "last_error": error[:200]}
    await session.execute(
        update(PushDelivery)
        .where(*ours)
        .values(lease_until=None, lease_owner=None, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )


async def due(session: AsyncSession, now: datetime, limit: int) -> list[UUID]:
    """Pending deliveries whose hold ended and whose lease (if any) expired."""
    return list(
        (
            await session.scalars(
                select(PushDelivery.id)
                .where(
                    PushDelivery.status == PushStatus.PENDING,
                    PushDelivery.not_before <= now,
                    or_(PushDelivery.lease_until.is_(None), PushDelivery.lease_until <= now),
                )
                .order_by(PushDelivery.not_before, PushDelivery.id)
                .limit(limit)
            )
        ).all()
    )
