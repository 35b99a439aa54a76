"""Append-only tables and their single writer.

The database itself refuses UPDATE and DELETE on append-only tables (triggers installed by the
migrations, on SQLite and PostgreSQL alike), so not even a bug or a hand-typed SQL statement
can rewrite history. Appends to a hash chain are serialized through a head row: the first
statement of an append transaction locks it (a row lock on PostgreSQL, the write lock on
SQLite), so `seq` stays contiguous and `prev` always names the true previous entry, across
requests, jobs and API processes.
"""

from alembic import op
from sqlalchemy import String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base

ZERO_HASH = "0" * 64
REWARDS_LEDGER = "rewards_ledger"
AUDIT_LOG = "audit_log"


class AppendHead(Base):
    """The last entry of one hash chain: its seq and hash."""

    __tablename__ = "append_heads"

    chain: Mapped[str] = mapped_column(String(32), unique=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64), default=ZERO_HASH)


async def lock_head(session: AsyncSession, chain: str) -> AppendHead:
    """Take the chain's writer lock (held until the transaction ends) and return its head.

    Must be the transaction's first write; on SQLite, its first statement.
    """
    await session.execute(
        update(AppendHead).where(AppendHead.chain == chain).values(seq=AppendHead.seq)
    )
    head = await session.scalar(
        select(AppendHead).where(AppendHead.chain == chain).with_for_update()
    )
    if head is None:
        msg = f"the {chain!r} chain has no head row; run the migrations"
        raise LookupError(msg)
    await session.refresh(head)
    return head


def forbid_changes_sql(table: str, dialect: str) -> list[str]:
    """DDL for triggers that make `table` append-only (used by migrations)."""
    if dialect == "postgresql":
        return [
            f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION selflink_forbid_change()""",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION selflink_forbid_change()""",
        ]
    return [
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""",
    ]


POSTGRES_FORBID_FUNCTION = """
CREATE OR REPLACE FUNCTION selflink_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def make_append_only(*tables: str) -> None:
    """Install the triggers from inside an Alembic migration."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(POSTGRES_FORBID_FUNCTION)
    for table in tables:
        for statement in forbid_changes_sql(table, dialect):
            op.execute(statement)
