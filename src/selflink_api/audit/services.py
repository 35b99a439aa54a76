"""Recording and verifying the audit log. Every staff and rewards mutation goes through here."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.audit.models import AuditRecord
from selflink_api.platform.appendonly import AUDIT_LOG, lock_head
from selflink_core.audit import AuditChainProblem, AuditEntry, seal_audit_entry, verify_audit_chain

SYSTEM = "system"


def actor_of(user_id: UUID | None) -> str:
    return f"user:{user_id}" if user_id is not None else SYSTEM


def utc_now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def record(
    session: AsyncSession,
    *,
    actor_id: UUID | None,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append an audit record in the caller's transaction; time and order are the server's."""
    head = await lock_head(session, AUDIT_LOG)
    entry = seal_audit_entry(
        head_seq=head.seq,
        head_hash=head.hash,
        at=utc_now_text(),
        actor=actor_of(actor_id),
        action=action,
        subject=subject,
        details=details,
    )
    row = AuditRecord(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        details=dict(entry.details),
        prev=entry.prev,
        hash=entry.hash,
    )
    session.add(row)
    head.seq, head.hash = entry.seq, entry.hash
    await session.flush()
    return row


async def _entries(session: AsyncSession, batch: int = 1000) -> AsyncIterator[AuditEntry]:
    last = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditRecord)
                .where(AuditRecord.seq > last)
                .order_by(AuditRecord.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield AuditEntry(
                row.seq, row.at, row.actor, row.action, row.subject, row.details, row.prev, row.hash
            )
        last = rows[-1].seq


async def verify(session: AsyncSession) -> tuple[int, AuditChainProblem | None]:
    """Walk the whole log in seq order; the count and the first broken link, if any."""
    entries = [entry async for entry in _entries(session)]
    return verify_audit_chain(entries)
