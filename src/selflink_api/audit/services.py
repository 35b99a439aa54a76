"""Recording audit records; every staff access to personal data goes through here."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.audit.models import AuditRecord


async def record(
    session: AsyncSession,
    *,
    actor_id: UUID | None,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    """Add an audit record to the caller's transaction (it commits or rolls back with it)."""
    entry = AuditRecord(actor_id=actor_id, action=action, subject=subject, details=details or {})
    session.add(entry)
    await session.flush()
    return entry
