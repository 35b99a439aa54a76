"""Moving an existing ledger file into SelfLink: checked whole, as `selflink rewards ledger
append` checks a ledger before appending to it, then stored row for row as `LedgerService.append`
stores each event, with its audit record, in one transaction (all of it or nothing)."""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import AccountStatus, Role
from selflink_api.accounts.services import user_by_handle
from selflink_api.audit import services as audit
from selflink_api.platform.appendonly import REWARDS_LEDGER, lock_head
from selflink_api.platform.problems import ProblemError
from selflink_api.rewards.ledger import LedgerService
from selflink_api.rewards.models import PeriodState, RewardContributor, RewardEvent, RewardPeriod
from selflink_core.rewards import (
    EMPTY_LEDGER_HEAD,
    EventError,
    LedgerHead,
    LedgerMerger,
    parse_event_line,
    scan_chunk,
)

IMPORT_REASON = "import-ledger"
BATCH = 5_000
"""Rows per INSERT: large enough that a million events take a few hundred round trips."""


@dataclass(frozen=True)
class Imported:
    """What an import stored: how many events, and the ledger's head after them."""

    appended: int
    head: LedgerHead


def _refused(message: str) -> ProblemError:
    return ProblemError.invalid("file", message, detail=f"{message}; nothing imported")


def _file_lines(path: Path, skip: int = 0) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from itertools.islice(handle, skip, None)


def _first_seq(path: Path) -> int | None:
    """The seq of the file's first line, None for an empty file or an unreadable first line."""
    first = next(_file_lines(path), None)
    if first is None:
        return None
    try:
        return parse_event_line(first).seq
    except EventError:
        return None


class LedgerImportService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.ledger = LedgerService(session)

    async def import_file(self, path: Path, *, staff_handle: str) -> Imported:
        """Append the events of `path` that the stored ledger does not hold yet.

        The stored ledger must be empty, or the file must extend its head: either the whole
        ledger (its first lines exactly the stored ones) or only what follows (its first line
        seq head+1, prev the head's hash). The resulting ledger is checked as a whole, every
        line and the chain, unique ids and reversals; a line booked into a locked month is
        refused (it cannot move: its period is sealed in its hash).
        """
        head_row = await lock_head(self.session, REWARDS_LEDGER)
        head = LedgerHead(head_row.seq, head_row.hash)
        staff = await user_by_handle(self.session, staff_handle)
        if staff.role not in (Role.STAFF, Role.ADMIN) or staff.status != AccountStatus.ACTIVE:
            raise ProblemError.invalid(
                "staff",
                "must name an active staff or admin account",
                detail=f"--staff: @{staff.handle} is not an active staff or admin account",
            )
        try:
            overlap = await self._overlap(path, head)
            problem = await self._problem(path, overlap)
        except OSError as exc:
            raise _refused(f"cannot read {path}: {exc.strerror or exc}") from None
        if problem is not None:
            raise _refused(f"{path} {problem}")
        appended, new_head = await self._store(path, overlap, head, f"user:{staff.id}", staff.id)
        head_row.seq, head_row.hash = new_head.seq, new_head.hash
        await self.session.flush()
        return Imported(appended, new_head)

    async def _overlap(self, path: Path, head: LedgerHead) -> int:
        """How many of the file's first lines the stored ledger already holds."""
        if head.seq == 0:
            return 0
        first = _first_seq(path)
        if first == head.seq + 1:
            return 0
        if first != 1:
            raise _refused(
                f"{path} does not extend the stored ledger (head seq {head.seq}, hash "
                f"{head.hash}): its first line must be seq 1 or seq {head.seq + 1}"
            )
        lines = _file_lines(path)
        line_number = 0
        async for chunk in self.ledger.lines():
            for stored in chunk.splitlines(keepends=True):
                line_number += 1
                line = next(lines, None)
                if line is None:
                    raise _refused(
                        f"{path} ends at line {line_number - 1}, before the stored ledger's head "
                        f"seq {head.seq}: it does not extend the stored ledger"
                    )
                if line != stored:
                    raise _refused(
                        f"{path} line {line_number} differs from the stored ledger's seq "
                        f"{line_number}: the file does not extend the stored ledger (head seq "
                        f"{head.seq})"
                    )
        return head.seq

    async def _problem(self, path: Path, overlap: int) -> str | None:
        """The first problem of the ledger the import would leave, named by the file's line.

        Without an overlap the stored lines come first, so ids and reversals are checked across
        both; chunks are joined as they come (`LedgerMerger`), the stored ones never all held.
        """
        merger = LedgerMerger()
        stored = chunks = 0

        def add(lines: list[bytes]) -> None:
            nonlocal chunks
            merger.add(scan_chunk(lines, after=None if chunks else EMPTY_LEDGER_HEAD))
            chunks += 1

        if not overlap:
            async for chunk in self.ledger.lines():
                lines = chunk.splitlines(keepends=True)
                stored += len(lines)
                add(lines)
        file_lines = _file_lines(path)
        while batch := list(itertools.islice(file_lines, BATCH * 10)):
            add(batch)
        problem = merger.result().problem
        if problem is None:
            return None
        line = problem.line_number - stored
        if line < 1:
            return f"cannot be checked: the stored ledger itself fails at seq {problem.seq}"
        return (
            f"line {line}"
            + (f" (seq {problem.seq})" if problem.seq is not None else "")
            + (f": {problem.reason}")
        )

    async def _store(
        self, path: Path, overlap: int, head: LedgerHead, appended_by: str, actor_id: Any
    ) -> tuple[int, LedgerHead]:
        locked = set(
            (
                await self.session.scalars(
                    select(RewardPeriod.period).where(RewardPeriod.state == PeriodState.LOCKED)
                )
            ).all()
        )
        known = set((await self.session.scalars(select(RewardContributor.key))).all())
        appended, last = 0, head
        lines = _file_lines(path, overlap)
        while batch := list(itertools.islice(lines, BATCH)):
            rows = [self._row(line, appended_by) for line in batch]
            for number, row in enumerate(rows, start=overlap + appended + 1):
                if row["period"] in locked:
                    raise _refused(
                        f"{path} line {number} (seq {row['seq']}): period {row['period']} is "
                        "locked; its events can no longer be imported"
                    )
            await self.session.execute(insert(RewardEvent), rows)
            new_keys = {row["contributor"] for row in rows} - known
            if new_keys:
                await self.session.execute(
                    insert(RewardContributor), [{"key": key} for key in sorted(new_keys)]
                )
                known |= new_keys
            await audit.record_many(
                self.session,
                actor_id=actor_id,
                action="rewards.event.append",
                entries=(
                    (
                        f"event:{row['event_id']}",
                        {
                            "seq": row["seq"],
                            "kind": row["kind"],
                            "points": row["points"],
                            "by": appended_by,
                            "reason": IMPORT_REASON,
                        },
                    )
                    for row in rows
                ),
            )
            appended += len(rows)
            last = LedgerHead(rows[-1]["seq"], rows[-1]["hash"])
        return appended, last

    @staticmethod
    def _row(line: bytes, appended_by: str) -> dict[str, Any]:
        """The `reward_events` row of a checked line, as `LedgerService.append` writes it."""
        event = msgspec.json.decode(line)
        return {
            "seq": event["seq"],
            "event_id": event["id"],
            "period": event["period"],
            "occurred_at": event["occurred_at"],
            "contributor": event["contributor"],
            "kind": event["kind"],
            "points": event["points"],
            "rules": event["rules"],
            "ref": event["ref"],
            "source_sha256": event["source_sha256"],
            "reverses": event["reverses"],
            "prev": event["prev"],
            "hash": event["hash"],
            "line": line,
            "reason": IMPORT_REASON,
            "appended_by": appended_by,
        }
