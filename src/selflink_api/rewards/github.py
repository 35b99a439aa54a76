"""GitHub webhooks: verified, recorded by delivery id, then scored by a job."""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.platform.pagination import PageRequest, paginate
from selflink_api.platform.problems import (
    BAD_REQUEST,
    PAYLOAD_TOO_LARGE,
    UNAUTHORIZED,
    UNAVAILABLE,
    UNSUPPORTED_MEDIA_TYPE,
    ProblemError,
)
from selflink_api.platform.values import SAFE_INTEGER_MAX
from selflink_api.rewards.ledger import DuplicateEventError, LedgerService
from selflink_api.rewards.models import DeliveryStatus, GithubDelivery
from selflink_api.settings import Settings
from selflink_core.rewards import (
    DEFAULT_RULES,
    NotScored,
    PayloadError,
    Scored,
    score_pull_request,
)

SIGNATURE_PREFIX = "sha256="
SCORED_EVENTS = frozenset({"pull_request"})
ACCEPTED_EVENTS = SCORED_EVENTS | {"ping"}
GITHUB_ACTOR = "github"
EARLIEST_MERGE = datetime(2008, 1, 1, tzinfo=UTC)
"""GitHub opened in 2008: no pull request was merged before."""
CLOCK_SKEW = timedelta(days=1)
"""How far past our clock a merge time may be, for clocks that disagree."""


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    """HMAC-SHA256 of the exact body with the shared secret, compared in constant time."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix(SIGNATURE_PREFIX))


@dataclass(frozen=True)
class Webhook:
    """A delivery whose headers passed every check; its body is not yet read as JSON."""

    delivery_id: str
    event_type: str
    body: bytes


async def provide_webhook(
    request: Request[Any, Any, Any], settings: NamedDependency[Settings]
) -> Webhook:
    """The checks a delivery passes before its body is read: webhooks configured here, size,
    signature, media type, delivery id, and an event we take (`ping` or a scored one)."""
    secret = settings.github_webhook_secret.get_secret_value()
    if not secret:
        raise ProblemError(
            UNAVAILABLE, "GitHub webhooks are not configured here (GITHUB_WEBHOOK_SECRET)."
        )
    body = await request.body()
    if len(body) > settings.github_webhook_max_bytes:
        raise ProblemError(
            PAYLOAD_TOO_LARGE,
            f"Payloads are limited to {settings.github_webhook_max_bytes} bytes.",
        )
    if not signature_is_valid(secret, body, request.headers.get("x-hub-signature-256")):
        raise ProblemError(UNAUTHORIZED, "X-Hub-Signature-256 does not match this payload.")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ProblemError(UNSUPPORTED_MEDIA_TYPE, "Send the webhook as application/json.")
    event_type = request.headers.get("x-github-event", "")
    delivery_id = request.headers.get("x-github-delivery", "")
    if not delivery_id or len(delivery_id) > 100:
        raise ProblemError(BAD_REQUEST, "X-GitHub-Delivery is missing or too long.")
    if event_type not in ACCEPTED_EVENTS:
        raise ProblemError.invalid(
            "X-GitHub-Event",
            "unsupported event",
            source="header",
            detail=f"X-GitHub-Event {event_type!r} is not handled; subscribe to pull_request only.",
        )
    return Webhook(delivery_id=delivery_id, event_type=event_type, body=body)


@dataclass(frozen=True)
class Recorded:
    delivery: GithubDelivery
    is_new: bool


async def record_delivery(
    session: AsyncSession, delivery_id: str, event_type: str, body: bytes
) -> Recorded:
    """Store the delivery once; a replay (same delivery id) finds the first record."""
    existing = await session.scalar(
        select(GithubDelivery).where(GithubDelivery.delivery_id == delivery_id)
    )
    if existing is not None:
        return Recorded(existing, is_new=False)
    delivery = GithubDelivery(
        delivery_id=delivery_id,
        event_type=event_type,
        payload_sha256=hashlib.sha256(body).hexdigest(),
        payload=body,
    )
    try:
        async with session.begin_nested():
            session.add(delivery)
    except IntegrityError:  # the same delivery arrived twice at once
        again = await session.scalar(
            select(GithubDelivery).where(GithubDelivery.delivery_id == delivery_id)
        )
        assert again is not None
        return Recorded(again, is_new=False)
    return Recorded(delivery, is_new=True)


class ImplausiblePullRequestError(ValueError):
    """A validly signed pull request with values no real one has; says which."""


def check_plausible(scored: Scored, now: datetime) -> None:
    """Refuse a pull request that cannot be real, before its event becomes permanent.

    The ledger is append-only, so this runs before the append: ids must be positive and within
    what `POST /rewards/links` accepts (else the event could never be linked), and the merge
    between GitHub's opening and a day past our clock (else it lands in a month like 9999-12
    that would never be committed).
    """
    for name, value in (("number", scored.number), ("user.id", scored.author_id)):
        if not 1 <= value <= SAFE_INTEGER_MAX:
            msg = f"{name}: {str(value)[:40]} is not a positive id below 2^53"
            raise ImplausiblePullRequestError(msg)
    merged_at = datetime.fromisoformat(scored.draft.occurred_at)
    if merged_at < EARLIEST_MERGE:
        msg = f"merged_at: {scored.draft.occurred_at} is before GitHub existed (2008)"
        raise ImplausiblePullRequestError(msg)
    if merged_at > now + CLOCK_SKEW:
        msg = (
            f"merged_at: {scored.draft.occurred_at} is more than a day after this server's "
            f"clock ({now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})"
        )
        raise ImplausiblePullRequestError(msg)


async def process_delivery(
    session: AsyncSession, delivery_id: UUID, now: datetime
) -> GithubDelivery | None:
    """Score a recorded pull request and append its event; every outcome is recorded."""
    ledger = LedgerService(session)
    delivery = await session.get(GithubDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.RECEIVED:
        return delivery
    try:
        result = score_pull_request(delivery.payload, DEFAULT_RULES)
        if isinstance(result, Scored):
            check_plausible(result, now)
    except (PayloadError, ImplausiblePullRequestError) as exc:
        kind = "malformed" if isinstance(exc, PayloadError) else "implausible"
        delivery.status, delivery.outcome = (
            DeliveryStatus.FAILED,
            f"{kind} pull request: {exc}"[:500],
        )
        return delivery
    if isinstance(result, NotScored):
        delivery.status, delivery.outcome = DeliveryStatus.IGNORED, result.reason[:500]
        return delivery
    try:
        event = await ledger.append(result.draft, appended_by=GITHUB_ACTOR)
    except DuplicateEventError as exc:
        delivery.status, delivery.outcome = (
            DeliveryStatus.DUPLICATE,
            f"{result.draft.id} {exc}"[:500],
        )
        delivery.event_seq = exc.existing_seq
        return delivery
    except ProblemError as exc:
        delivery.status, delivery.outcome = DeliveryStatus.FAILED, exc.detail[:500]
        return delivery
    delivery.status, delivery.event_seq = DeliveryStatus.APPENDED, event.seq
    delivery.outcome = "; ".join(result.explanation)[:500]
    return delivery


async def recent_deliveries(
    session: AsyncSession, status: DeliveryStatus | None, page: PageRequest
) -> tuple[list[GithubDelivery], str | None]:
    """Deliveries newest first (ids are UUIDv7), optionally of one status: what happened to
    each and why, for staff tracing a PR that did not become an event."""
    statement = select(GithubDelivery)
    if status is not None:
        statement = statement.where(GithubDelivery.status == status)
    return await paginate(
        session,
        statement,
        scope=f"github-deliveries:{status or 'all'}",
        order_by=[GithubDelivery.id],
        page=page,
        descending=True,
    )
