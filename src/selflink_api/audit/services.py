"""Recording and verifying the audit log. Every staff and rewards mutation goes through here."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import String, bindparam, cast, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.audit.models import AuditRecord
from selflink_api.platform.appendonly import AUDIT_LOG, lock_head
from selflink_core.audit import (
    AuditChainChecker,
    AuditChainProblem,
    StoredAuditRow,
    seal_audit_entry,
)

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


async def record_many(
    session: AsyncSession,
    *,
    actor_id: UUID | None,
    action: str,
    entries: Iterable[tuple[str, dict[str, Any]]],
) -> int:
    """Append one audit record per `(subject, details)` in the caller's transaction, sealed in
    order and inserted as one batch: a bulk operation (a ledger import) audits every row it
    writes without an ORM object or a round trip per record."""
    head = await lock_head(session, AUDIT_LOG)
    at, actor = utc_now_text(), actor_of(actor_id)
    seq, prev = head.seq, head.hash
    rows = []
    for subject, details in entries:
        entry = seal_audit_entry(
            head_seq=seq,
            head_hash=prev,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            details=details,
        )
        rows.append(
            {
                "seq": entry.seq,
                "at": entry.at,
                "actor": entry.actor,
                "action": entry.action,
                "subject": entry.subject,
                "details": details,
                "prev": entry.prev,
                "hash": entry.hash,
            }
        )
        seq, prev = entry.seq, entry.hash
    if rows:
        await session.execute(insert(AuditRecord), rows)
    head.seq, head.hash = seq, prev
    await session.flush()
    return len(rows)


VERIFY_BATCH = 10_000
_ENTRY_COLUMNS = (
    AuditRecord.seq,
    AuditRecord.at,
    AuditRecord.actor,
    AuditRecord.action,
    AuditRecord.subject,
    cast(AuditRecord.details, String),  # as stored: the checker decodes it
    AuditRecord.prev,
    AuditRecord.hash,
)


async def _stored_batches(
    session: AsyncSession, batch: int = VERIFY_BATCH
) -> AsyncIterator[Sequence[StoredAuditRow]]:
    """The log in seq order, a batch of plain column tuples at a time (keyset pages on the unique
    `seq` index, `details` as stored text): constant memory and no object per row, whatever the
    log's length. On PostgreSQL the driver's own records are used: building SQLAlchemy rows
    would cost a quarter of the whole verification."""
    connection = await session.connection()
    query = select(*_ENTRY_COLUMNS).where(AuditRecord.seq > bindparam("last"))
    query = query.order_by(AuditRecord.seq).limit(batch)
    fetch: Callable[[int], Awaitable[Sequence[Any]]]
    if connection.dialect.name == "postgresql":
        compiled = query.compile(dialect=connection.dialect)  # asyncpg's $1, $2 placeholders
        sql, names = str(compiled), compiled.positiontup or []
        driver: Any = (await connection.get_raw_connection()).driver_connection

        async def fetch(last: int) -> Sequence[Any]:
            values = {**compiled.params, "last": last}
            return await driver.fetch(sql, *(values[name] for name in names))  # type: ignore[no-any-return]
    else:

        async def fetch(last: int) -> Sequence[Any]:
            return (await connection.execute(query, {"last": last})).all()

    last = 0
    while rows := await fetch(last):
        yield rows
        last = rows[-1][0]


async def count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(AuditRecord)) or 0


async def verify(
    session: AsyncSession, progress: Callable[[int], None] | None = None
) -> tuple[int, AuditChainProblem | None]:
    """Walk the whole log in seq order; the count and the first broken link, if any.

    `progress` hears how many entries each batch checked.
    """
    checker = AuditChainChecker()
    async for entries in _stored_batches(session):
        problem = checker.check_stored(entries)
        if problem is not None:
            return checker.count, problem
        if progress is not None:
            progress(len(entries))
    return checker.count, None
