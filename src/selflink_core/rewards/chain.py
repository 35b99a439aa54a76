"""Verifying a ledger: every line, the hash chain and the ledger-wide rules (unique ids, reversals).

A ledger can be scanned in chunks (one per process) with `scan_chunk` and the chunks joined with
`merge_chunks`; `scan_ledger` does both for one iterable of lines. Lines in the common shape
(printable ASCII, no escapes) take a fast path that checks the exact canonical bytes without
building an `Event`; any other line goes through `parse_event_line`, which also explains what is
wrong. Either way the first problem, by line, is reported with its reason.
"""

import hashlib
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from selflink_core.rewards.canonical import MAX_SAFE_INTEGER
from selflink_core.rewards.events import (
    EMPTY_LEDGER_HEAD,
    MAX_POINTS,
    EventDraft,
    EventError,
    LedgerHead,
    is_period,
    is_timestamp,
    parse_event_line,
)


class PeriodEvent(NamedTuple):
    """What the monthly calculation needs from one event of the period, and its exact line."""

    seq: int
    contributor: str
    points: int
    rules: str
    line: bytes


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    """The first thing wrong with a ledger: its 1-based line, the seq found there if any, why."""

    line_number: int
    seq: int | None
    reason: str

    def describe(self) -> str:
        """`line N (seq S): reason`, or `line N: reason` when the line has no readable seq."""
        where = f"line {self.line_number}"
        if self.seq is not None:
            where += f" (seq {self.seq})"
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class ChunkScan:
    """One chunk's lines, checked on their own; `merge_chunks` links chunks and checks the rest.

    `problem.line_number` is relative to the chunk. Lists hold one entry per checked line.
    """

    line_count: int = 0
    first_seq: int = 0
    first_prev: bytes = b""
    last_seq: int = 0
    last_hash: bytes = b""
    ids: list[bytes] = field(default_factory=list)
    contributors: list[bytes] = field(default_factory=list)
    points: list[int] = field(default_factory=list)
    reversals: list[tuple[int, bytes]] = field(default_factory=list)
    period_events: list[PeriodEvent] = field(default_factory=list)
    marked_hash: bytes = b""
    problem: LedgerProblem | None = None

    @property
    def checked_count(self) -> int:
        return len(self.ids)

    def __getstate__(self) -> dict[str, object]:
        """Pack the per-line lists into flat bytes: a chunk crosses processes in milliseconds.

        0xFF never occurs in UTF-8, so it separates ids and contributors safely.
        """
        state = {name: getattr(self, name) for name in self.__slots__}
        state["ids"] = _SEPARATOR.join(self.ids)
        state["contributors"] = _SEPARATOR.join(self.contributors)
        state["points"] = array("q", self.points).tobytes()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        packed_points: bytes = state["points"]
        has_lines = bool(packed_points)
        self.ids = state["ids"].split(_SEPARATOR) if has_lines else []
        self.contributors = state["contributors"].split(_SEPARATOR) if has_lines else []
        self.points = array("q", packed_points).tolist()


_LINE_TEMPLATE: Final = (
    b'{"contributor":"%s","hash":"%s","id":"%s","kind":"%s","occurred_at":"%s","period":"%s",'
    b'"points"%s"prev":"%s","ref":"%s","reverses":"%s","rules":"%s","seq"%s'
    b'"source_sha256":"%s"}\n'
)
_CONTRIBUTOR_CHARS: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@/+-"
_RULES_CHARS: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
_HEX_CHARS: Final = b"0123456789abcdef"
_ESCAPED_CHARS: Final = bytes(range(0x20)) + b"\\"
_KIND_SIGNS: Final = {
    b"pr_merged": 1,
    b"bounty": 1,
    b"bonus": 1,
    b"penalty": -1,
    b"adjustment": 0,
    b"reversal": 0,
}
_QUOTE: Final = b'"'
_SEPARATOR: Final = b"\xff"
_MINUTES_SECONDS: Final = frozenset(
    b":%02d:%02dZ" % (minute, second) for minute in range(60) for second in range(60)
)
"""Every valid `:MM:SSZ` tail of a timestamp whose `YYYY-MM-DDTHH` head is known valid."""
_FIELD_COUNT: Final = 49
"""Pieces of a fast-path line split at `"`: 13 keys, 11 string values and the punctuation."""


def _number_token(token: bytes) -> int | None:
    """The integer in a `:N,` piece if N is written canonically, else None."""
    digits = token[1:-1]
    if token[:1] != b":" or token[-1:] != b"," or not digits:
        return None
    body = digits[1:] if digits[:1] == b"-" else digits
    if not (body.isdigit() and body.isascii()) or (body[:1] == b"0" and digits != b"0"):
        return None
    return int(digits)


class _LineFields(NamedTuple):
    contributor: bytes
    hash: bytes
    id: bytes
    kind: bytes
    period: bytes
    points: int
    prev: bytes
    reverses: bytes
    rules: bytes
    seq: int


def _slow_fields(line: bytes) -> _LineFields:
    """Fields of a line that left the fast path (escapes, non-ASCII); raises `EventError`."""
    event = parse_event_line(line)
    return _LineFields(
        contributor=event.contributor.encode(),
        hash=event.hash.encode(),
        id=event.id.encode(),
        kind=event.kind.encode(),
        period=event.period.encode(),
        points=event.points,
        prev=event.prev.encode(),
        reverses=event.reverses.encode(),
        rules=event.rules.encode(),
        seq=event.seq,
    )


def _seq_hint(line: bytes) -> int | None:
    """The seq a broken line claims, if it can be read at all, to name it in messages."""
    marker = line.rfind(b'"seq":')
    if marker < 0:
        return None
    digits = bytearray()
    for byte in line[marker + 6 : marker + 23]:
        if not 0x30 <= byte <= 0x39:
            break
        digits.append(byte)
    return int(digits) if digits else None


def scan_chunk(  # noqa: PLR0912, PLR0915 - the hot loop is kept flat for speed
    lines: Iterable[bytes],
    *,
    after: LedgerHead | None = EMPTY_LEDGER_HEAD,
    period: str | None = None,
    contiguous: bool = True,
    mark_seq: int = 0,
) -> ChunkScan:
    """Check a run of ledger lines: each line on its own and the chain between them.

    `after` is the event before the first line (None when unknown: `merge_chunks` links it).
    With `contiguous` the lines must be a ledger's consecutive lines (seq +1, `prev` = previous
    `hash`); without it they are a selection such as a bundle's events.jsonl (seq increasing,
    and `prev` checked wherever two lines are consecutive). Events whose period is `period` are
    collected in `period_events`, and the hash of the event with seq `mark_seq` is kept in
    `marked_hash`. Scanning stops at the first problem but still counts lines.

    A line in the common shape (printable ASCII without escapes, the next seq, the expected
    prev) is checked byte for byte against the canonical template without building an `Event`;
    every other line takes `parse_event_line`, which accepts it or says exactly what is wrong.
    """
    scan = ChunkScan()
    add_id = scan.ids.append
    add_contributor = scan.contributors.append
    add_points = scan.points.append
    reversals = scan.reversals
    period_events = scan.period_events
    wanted_period = period.encode() if period is not None else None
    names: dict[bytes, str] = {}
    rule_names: dict[bytes, str] = {}
    known_points: dict[bytes, int] = {}
    known_periods: set[bytes] = set()
    known_hours: set[bytes] = set()
    sha256 = hashlib.sha256
    quote = _QUOTE
    template = _LINE_TEMPLATE
    escaped = _ESCAPED_CHARS
    hex_chars = _HEX_CHARS
    kind_signs = _KIND_SIGNS
    minutes_seconds = _MINUTES_SECONDS
    last_seq, last_hash = (-1, b"") if after is None else (after.seq, after.hash.encode())
    line_number = 0
    iterator = iter(lines)
    for line in iterator:
        line_number += 1
        pieces = line.split(quote)
        fast = False
        if len(pieces) == _FIELD_COUNT and line.isascii():
            contributor, line_hash, event_id, kind, occurred_at, line_period = pieces[3:24:4]
            prev, ref, reverses, rules = pieces[29:42:4]
            points_piece = pieces[26]
            seq_piece = pieces[44]
            source = pieces[47]
            if contiguous and last_seq >= 0:
                seq = last_seq + 1
                seq_ok = seq_piece == b":%d," % seq and prev == last_hash
            else:
                seq = _number_token(seq_piece) or 0
                seq_ok = 0 < seq <= MAX_SAFE_INTEGER and len(prev) == 64
                seq_ok = seq_ok and not prev.translate(None, hex_chars)
                if last_seq >= 0:
                    seq_ok = seq_ok and seq > last_seq and (seq > last_seq + 1 or prev == last_hash)
            points = known_points.get(points_piece)
            if points is None:
                points = _number_token(points_piece)
                if points is not None and -MAX_POINTS <= points <= MAX_POINTS:
                    known_points[points_piece] = points
                else:
                    points = None
            sign = kind_signs.get(kind)
            fast = (
                seq_ok
                and points is not None
                and sign is not None
                and points * sign >= 0
                and template
                % (
                    contributor,
                    line_hash,
                    event_id,
                    kind,
                    occurred_at,
                    line_period,
                    points_piece,
                    prev,
                    ref,
                    reverses,
                    rules,
                    seq_piece,
                    source,
                )
                == line
                and (free_text := event_id + ref + reverses).translate(None, escaped) == free_text
                and 0 < len(event_id) <= 200
                and len(ref) <= 500
                and (0 < len(reverses) <= 200 if kind == b"reversal" else not reverses)
                and (not source or (len(source) == 64 and not source.translate(None, hex_chars)))
                and (contributor in names or _remember_name(names, contributor))
                and (rules in rule_names or _remember_rules(rule_names, rules))
                and (line_period in known_periods or _remember_period(known_periods, line_period))
                and (
                    occurred_at[13:] in minutes_seconds
                    if occurred_at[:13] in known_hours
                    else _remember_hour(known_hours, occurred_at)
                )
            )
            if fast:
                name_end = len(contributor) + 18
                computed = sha256(line[:name_end] + line[name_end + 74 : -1]).hexdigest()
                if computed.encode() != line_hash:
                    scan.problem = LedgerProblem(
                        line_number,
                        seq,
                        f"hash: does not match the event's content: expected {computed}, "
                        f"found {line_hash.decode()}",
                    )
                    break
        if not fast:
            try:
                fields = _slow_fields(line)
            except EventError as exc:
                scan.problem = LedgerProblem(line_number, _seq_hint(line), str(exc))
                break
            problem = _link_problem(
                fields.seq, fields.prev, last_seq, last_hash, contiguous=contiguous
            )
            if problem is not None:
                scan.problem = LedgerProblem(line_number, fields.seq, problem)
                break
            contributor, line_hash, event_id, kind, line_period = fields[:5]
            points, prev, reverses, rules, seq = fields[5:]
            names.setdefault(contributor, contributor.decode())
            rule_names.setdefault(rules, rules.decode())
        if last_seq < 0:
            scan.first_seq = seq
            scan.first_prev = prev
        last_seq = seq
        last_hash = line_hash
        if seq == mark_seq:
            scan.marked_hash = line_hash
        add_id(event_id)
        add_contributor(contributor)
        add_points(points)  # type: ignore[arg-type]
        if reverses:
            reversals.append((len(scan.ids) - 1, reverses))
        if line_period == wanted_period:
            period_events.append(
                PeriodEvent(seq, names[contributor], points, rule_names[rules], line)  # type: ignore[arg-type]
            )
    for _ in iterator:
        line_number += 1
    scan.line_count = line_number
    scan.last_seq = max(last_seq, 0)
    scan.last_hash = last_hash
    return scan


def _remember_name(names: dict[bytes, str], contributor: bytes) -> bool:
    if contributor.translate(None, _CONTRIBUTOR_CHARS) or not 0 < len(contributor) <= 200:
        return False
    names[contributor] = contributor.decode()
    return True


def _remember_rules(rule_names: dict[bytes, str], rules: bytes) -> bool:
    if rules.translate(None, _RULES_CHARS) or not 0 < len(rules) <= 32:
        return False
    rule_names[rules] = rules.decode()
    return True


def _remember_period(known_periods: set[bytes], period: bytes) -> bool:
    if not is_period(period.decode()):
        return False
    known_periods.add(period)
    return True


def _remember_hour(known_hours: set[bytes], occurred_at: bytes) -> bool:
    if not is_timestamp(occurred_at.decode()):
        return False
    known_hours.add(occurred_at[:13])
    return True


def _link_problem(  # noqa: PLR0911 - one return per chain rule
    seq: int, prev: bytes, last_seq: int, last_hash: bytes, *, contiguous: bool
) -> str | None:
    """Why a line with `seq` and `prev` cannot follow the line (`last_seq`, `last_hash`)."""
    if last_seq < 0:
        return None
    if contiguous:
        if seq != last_seq + 1:
            return f"seq: expected {last_seq + 1} (one more than the line before), found {seq}"
        if prev != last_hash:
            return (
                "prev: must be the hash of the event before it: "
                f"expected {last_hash.decode()}, found {prev.decode()}"
            )
        return None
    if seq <= last_seq:
        return f"seq: must be greater than the previous line's seq {last_seq}, found {seq}"
    if seq == last_seq + 1 and prev != last_hash:
        return (
            f"prev: must be the hash of seq {last_seq}, the line before: "
            f"expected {last_hash.decode()}, found {prev.decode()}"
        )
    return None


class ReversalTarget(NamedTuple):
    """What the ledger knows about the event a reversal names."""

    seq: int
    contributor: str
    points: int
    is_reversal: bool
    reversed_by_seq: int | None


def reversal_problem(
    contributor: str, points: int, target_id: str, target: ReversalTarget | None
) -> str | None:
    """Why a reversal of `target_id` by `contributor` with `points` is not allowed, or None.

    `target` is the earlier event with that id (None when the ledger has none before it).
    """
    if target is None:
        return f"reverses: {target_id!r} is not the id of an earlier event"
    if target.is_reversal:
        return f"reverses: {target_id!r} (seq {target.seq}) is itself a reversal"
    if target.reversed_by_seq is not None:
        return (
            f"reverses: {target_id!r} (seq {target.seq}) was already reversed by "
            f"seq {target.reversed_by_seq}"
        )
    if target.contributor != contributor:
        return (
            f"contributor: a reversal must be for the contributor of {target_id!r}: "
            f"expected {target.contributor}, found {contributor}"
        )
    if points != -target.points:
        return (
            f"points: a reversal must negate the points of {target_id!r}: "
            f"expected {-target.points}, found {points}"
        )
    return None


@dataclass(slots=True)
class LedgerScan:
    """A whole ledger checked: its head, the first problem if any, and what appending needs."""

    line_count: int
    head: LedgerHead
    problem: LedgerProblem | None
    period_events: list[PeriodEvent]
    marked_hash: str | None
    _ids: list[bytes]
    _contributors: list[bytes]
    _points: list[int]
    _reversal_positions: set[int]
    _reversed_by: dict[int, int]

    @property
    def ok(self) -> bool:
        return self.problem is None

    def _position(self, event_id: str) -> int | None:
        try:
            return self._ids.index(event_id.encode("utf-8", "surrogatepass"))
        except ValueError:
            return None

    def reversal_target(self, target_id: str) -> ReversalTarget | None:
        position = self._position(target_id)
        if position is None:
            return None
        reversed_by = self._reversed_by.get(position)
        return ReversalTarget(
            seq=position + 1,
            contributor=self._contributors[position].decode(),
            points=self._points[position],
            is_reversal=position in self._reversal_positions,
            reversed_by_seq=None if reversed_by is None else reversed_by + 1,
        )

    def check_new_event(self, draft: EventDraft) -> None:
        """Raise `EventError` if `draft` cannot be appended: duplicate id or invalid reversal."""
        draft.validate()
        position = self._position(draft.id)
        if position is not None:
            raise EventError(f"{draft.id!r} is already in the ledger at seq {position + 1}", "id")
        if draft.kind == "reversal":
            problem = reversal_problem(
                draft.contributor,
                draft.points,
                draft.reverses,
                self.reversal_target(draft.reverses),
            )
            if problem is not None:
                raise EventError(problem)


def _first_duplicate(ids: list[bytes]) -> LedgerProblem | None:
    seen: dict[bytes, int] = {}
    for position, event_id in enumerate(ids):
        first = seen.setdefault(event_id, position)
        if first != position:
            return LedgerProblem(
                position + 1,
                position + 1,
                f"id: {event_id.decode(errors='replace')!r} is already used by seq {first + 1}",
            )
    return None


def _first_bad_reversal(
    first_position: Mapping[bytes, int],
    contributors: list[bytes],
    points: list[int],
    reversals: list[tuple[int, bytes]],
    reversed_by: dict[int, int],
    reversal_positions: set[int],
) -> LedgerProblem | None:
    """Check reversals in ledger order, recording which events each one reversed.

    `reversal_positions` must already hold the positions of every reversal up to these.
    """
    for position, target_id in reversals:
        target_position = first_position.get(target_id)
        target: ReversalTarget | None = None
        if target_position is not None and target_position < position:
            reverser = reversed_by.get(target_position)
            target = ReversalTarget(
                seq=target_position + 1,
                contributor=contributors[target_position].decode(),
                points=points[target_position],
                is_reversal=target_position in reversal_positions,
                reversed_by_seq=None if reverser is None else reverser + 1,
            )
        reason = reversal_problem(
            contributors[position].decode(),
            points[position],
            target_id.decode(errors="replace"),
            target,
        )
        if reason is not None:
            return LedgerProblem(position + 1, position + 1, reason)
        reversed_by[target_position] = position  # type: ignore[index]
    return None


def _ledger_wide_problem(
    ids: list[bytes],
    contributors: list[bytes],
    points: list[int],
    reversals: list[tuple[int, bytes]],
    reversed_by: dict[int, int],
) -> LedgerProblem | None:
    """The first duplicate id or invalid reversal, whichever comes first, the exact slow way."""
    reversal_positions = {position for position, _ in reversals}
    duplicate = _first_duplicate(ids)
    positions: dict[bytes, int] = {}
    for position, event_id in enumerate(ids):
        positions.setdefault(event_id, position)
    if duplicate is not None:
        reversals = [item for item in reversals if item[0] < duplicate.line_number - 1]
    found = _first_bad_reversal(
        positions, contributors, points, reversals, reversed_by, reversal_positions
    )
    return found or duplicate


class LedgerMerger:
    """Joins consecutive chunks of one ledger, in order, as they arrive.

    The first chunk must have been scanned with `after` and the others with `after=None`.
    Each `add` does its share of the ledger-wide checks, so a caller can fold in one chunk
    while another is still being scanned. The problem reported is the earliest by line.
    """

    def __init__(self, after: LedgerHead = EMPTY_LEDGER_HEAD) -> None:
        self._ids: list[bytes] = []
        self._contributors: list[bytes] = []
        self._points: list[int] = []
        self._reversals: list[tuple[int, bytes]] = []
        self._reversal_positions: set[int] = set()
        self._reversed_by: dict[int, int] = {}
        self._positions: dict[bytes, int] = {}
        self._duplicate_seen = False
        self._wide_problem: LedgerProblem | None = None
        self._period_events: list[PeriodEvent] = []
        self._problem: LedgerProblem | None = None
        self._marked_hash = b""
        self._last_seq, self._last_hash = after.seq, after.hash.encode()
        self._line_offset = 0
        self._chunk_count = 0

    def add(self, chunk: ChunkScan) -> None:
        first_chunk = self._chunk_count == 0
        self._chunk_count += 1
        offset = self._line_offset
        self._line_offset += chunk.line_count
        if self._problem is not None:
            return
        if chunk.checked_count:
            link = _link_problem(
                chunk.first_seq,
                chunk.first_prev,
                -1 if first_chunk else self._last_seq,
                self._last_hash,
                contiguous=True,
            )
            if link is not None:
                self._problem = LedgerProblem(offset + 1, chunk.first_seq, link)
                return
            self._fold(chunk, offset)
        if chunk.problem is not None:
            problem = chunk.problem
            self._problem = LedgerProblem(problem.line_number + offset, problem.seq, problem.reason)

    def _fold(self, chunk: ChunkScan, offset: int) -> None:
        self._ids.extend(chunk.ids)
        self._contributors.extend(chunk.contributors)
        self._points.extend(chunk.points)
        reversals = [(offset + local, target) for local, target in chunk.reversals]
        self._reversals.extend(reversals)
        self._reversal_positions.update(position for position, _ in reversals)
        self._period_events.extend(chunk.period_events)
        self._marked_hash = self._marked_hash or chunk.marked_hash
        self._last_seq, self._last_hash = chunk.last_seq, chunk.last_hash
        if self._duplicate_seen or self._wide_problem is not None:
            return
        known = len(self._positions)
        self._positions.update(
            zip(chunk.ids, range(offset, offset + chunk.checked_count), strict=True)
        )
        if len(self._positions) != known + chunk.checked_count:
            self._duplicate_seen = True  # `result` finds it, and what precedes it, exactly
            return
        self._wide_problem = _first_bad_reversal(
            self._positions,
            self._contributors,
            self._points,
            reversals,
            self._reversed_by,
            self._reversal_positions,
        )

    def result(self) -> LedgerScan:
        wide = self._wide_problem
        if self._duplicate_seen:
            self._reversed_by = {}
            wide = _ledger_wide_problem(
                self._ids, self._contributors, self._points, self._reversals, self._reversed_by
            )
        problems = [problem for problem in (self._problem, wide) if problem is not None]
        return LedgerScan(
            line_count=self._line_offset,
            head=LedgerHead(self._last_seq, self._last_hash.decode()),
            problem=min(problems, key=lambda problem: problem.line_number, default=None),
            period_events=self._period_events,
            marked_hash=self._marked_hash.decode() or None,
            _ids=self._ids,
            _contributors=self._contributors,
            _points=self._points,
            _reversal_positions=self._reversal_positions,
            _reversed_by=self._reversed_by,
        )


def merge_chunks(
    chunks: Iterable[ChunkScan], *, after: LedgerHead = EMPTY_LEDGER_HEAD
) -> LedgerScan:
    """Join consecutive chunks of one ledger (see `LedgerMerger`)."""
    merger = LedgerMerger(after)
    for chunk in chunks:
        merger.add(chunk)
    return merger.result()


def scan_ledger(
    lines: Iterable[bytes],
    *,
    period: str | None = None,
    mark_seq: int = 0,
    after: LedgerHead = EMPTY_LEDGER_HEAD,
) -> LedgerScan:
    """Check a whole ledger given as its lines (each with its `\\n`), in one pass."""
    chunk = scan_chunk(lines, after=after, period=period, mark_seq=mark_seq)
    return merge_chunks([chunk], after=after)
