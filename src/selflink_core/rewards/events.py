"""Ledger events (format 1, spec §1): the model, every field rule, canonical lines and sealing."""

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from selflink_core.rewards.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJsonError,
    format1_object_bytes,
    parse_strict_json,
)

ZERO_HASH: Final = "0" * 64
EVENT_KINDS: Final = ("pr_merged", "bounty", "bonus", "penalty", "adjustment", "reversal")
MAX_POINTS: Final = 1_000_000
DRAFT_KEYS: Final = (
    "contributor",
    "id",
    "kind",
    "occurred_at",
    "period",
    "points",
    "ref",
    "reverses",
    "rules",
    "source_sha256",
)
"""The keys an author supplies; `seq`, `prev` and `hash` are added when the event is sealed."""
EVENT_KEYS: Final = tuple(sorted((*DRAFT_KEYS, "hash", "prev", "seq")))

PERIOD_PATTERN: Final = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
"""A month, `YYYY-MM`; anchored because msgspec and Litestar patterns search, not match."""

_NON_NEGATIVE_KINDS: Final = frozenset({"pr_merged", "bounty", "bonus"})
_PERIOD = re.compile(PERIOD_PATTERN)
_TIMESTAMP = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
_CONTRIBUTOR = re.compile(r"[A-Za-z0-9._:@/+-]{1,200}")
_RULES = re.compile(r"[A-Za-z0-9._-]{1,32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class EventError(ValueError):
    """An event breaks a rule of the format; `field` names the offending key when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


def is_period(value: str) -> bool:
    """Whether `value` is a month in the format's `YYYY-MM` form."""
    return _PERIOD.fullmatch(value) is not None


def previous_period(period: str) -> str:
    """The month before `period` (`YYYY-MM`)."""
    year, month = int(period[:4]), int(period[5:])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


def is_timestamp(value: str) -> bool:
    """Whether `value` is a real UTC instant written exactly as `YYYY-MM-DDTHH:MM:SSZ`."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return False
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def is_hex_sha256(value: str) -> bool:
    return _HEX64.fullmatch(value) is not None


def _require_str(obj: Mapping[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise EventError(f"must be a string, found {_json_type(value)}", key)
    return value


def _require_int(obj: Mapping[str, Any], key: str) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(f"must be an integer, found {_json_type(value)}", key)
    return value


def _json_type(value: object) -> str:  # noqa: PLR0911 - one return per JSON type
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _check_length(value: str, field: str, low: int, high: int) -> None:
    if not low <= len(value) <= high:
        raise EventError(f"must be {low}..{high} characters, found {len(value)}", field)


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event before sealing: everything its author decides, nothing the ledger assigns."""

    id: str
    period: str
    occurred_at: str
    contributor: str
    kind: str
    points: int
    rules: str
    ref: str = ""
    source_sha256: str = ""
    reverses: str = ""

    def validate(self) -> None:
        """Check every per-event rule of spec §1 (ledger-wide rules are the chain's job)."""
        _check_length(self.id, "id", 1, 200)
        if not is_period(self.period):
            raise EventError(f"must be YYYY-MM with month 01-12, found {self.period!r}", "period")
        if not is_timestamp(self.occurred_at):
            raise EventError(
                f"must be a UTC time written YYYY-MM-DDTHH:MM:SSZ, found {self.occurred_at!r}",
                "occurred_at",
            )
        if _CONTRIBUTOR.fullmatch(self.contributor) is None:
            raise EventError(
                "must be 1-200 characters of A..Z a..z 0-9 . _ : @ / + -, "
                f"found {self.contributor!r}",
                "contributor",
            )
        if self.kind not in EVENT_KINDS:
            raise EventError(
                f"must be one of {', '.join(EVENT_KINDS)}, found {self.kind!r}", "kind"
            )
        self._validate_points()
        if _RULES.fullmatch(self.rules) is None:
            raise EventError(
                f"must be 1-32 characters of A..Z a..z 0-9 . _ -, found {self.rules!r}", "rules"
            )
        _check_length(self.ref, "ref", 0, 500)
        if self.source_sha256 and not is_hex_sha256(self.source_sha256):
            raise EventError(
                f"must be 64 lowercase hex digits or empty, found {self.source_sha256!r}",
                "source_sha256",
            )
        if self.kind == "reversal":
            _check_length(self.reverses, "reverses", 1, 200)
        elif self.reverses:
            raise EventError(f"must be empty for a {self.kind} event", "reverses")
        for field in ("id", "ref", "reverses"):
            try:
                getattr(self, field).encode("utf-8")
            except UnicodeEncodeError:
                raise EventError("contains a lone surrogate (not valid Unicode)", field) from None

    def _validate_points(self) -> None:
        if not -MAX_POINTS <= self.points <= MAX_POINTS:
            raise EventError(f"must be within -1,000,000..1,000,000, found {self.points}", "points")
        if self.kind in _NON_NEGATIVE_KINDS and self.points < 0:
            raise EventError(
                f"a {self.kind} event cannot be negative, found {self.points}", "points"
            )
        if self.kind == "penalty" and self.points > 0:
            raise EventError(f"a penalty cannot be positive, found {self.points}", "points")

    def as_json_object(self) -> dict[str, str | int]:
        return {key: getattr(self, key) for key in DRAFT_KEYS}


@dataclass(frozen=True, slots=True)
class LedgerHead:
    """The last event of a ledger: what the next event's `prev` and `seq` follow."""

    seq: int
    hash: str

    def as_json_object(self) -> dict[str, str | int]:
        return {"hash": self.hash, "seq": self.seq}


EMPTY_LEDGER_HEAD: Final = LedgerHead(0, ZERO_HASH)


@dataclass(frozen=True, slots=True)
class Event:
    """A sealed ledger event; `line()` is its exact ledger line."""

    seq: int
    id: str
    period: str
    occurred_at: str
    contributor: str
    kind: str
    points: int
    rules: str
    ref: str
    source_sha256: str
    reverses: str
    prev: str
    hash: str

    @property
    def draft(self) -> EventDraft:
        return EventDraft(**{key: getattr(self, key) for key in DRAFT_KEYS})

    def as_json_object(self) -> dict[str, str | int]:
        return {key: getattr(self, key) for key in EVENT_KEYS}

    def line(self) -> bytes:
        return format1_object_bytes(self.as_json_object()) + b"\n"


def event_hash(unsealed: Mapping[str, str | int]) -> str:
    """The `hash` of an event: SHA-256 of JCS of all its keys except `hash`."""
    return hashlib.sha256(format1_object_bytes(unsealed)).hexdigest()


def seal(draft: EventDraft, head: LedgerHead) -> Event:
    """Validate `draft` and chain it after `head`.

    Ledger-wide rules (unique `id`, what a reversal may reverse) need the ledger's history; see
    `selflink_core.rewards.chain.check_reversal` and `LedgerScan.check_new_event`.
    """
    draft.validate()
    seq = head.seq + 1
    if seq > MAX_SAFE_INTEGER:
        raise EventError("the ledger is full (seq would exceed 2^53-1)", "seq")
    unsealed: dict[str, str | int] = {**draft.as_json_object(), "seq": seq, "prev": head.hash}
    return Event(**unsealed, hash=event_hash(unsealed))  # type: ignore[arg-type]


def _checked_keys(obj: object, expected: tuple[str, ...], what: str) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise EventError(f"{what} must be a JSON object, found {_json_type(obj)}")
    unknown = sorted(set(obj) - set(expected))
    if unknown:
        raise EventError(f"unknown key {unknown[0]!r}", unknown[0])
    missing = [key for key in expected if key not in obj]
    if missing:
        raise EventError(f"missing key {missing[0]!r}", missing[0])
    return obj


def draft_from_json_object(obj: object) -> EventDraft:
    """An author's event object (the ten draft keys, nothing else) as a validated draft."""
    if isinstance(obj, dict):
        for assigned in ("seq", "prev", "hash"):
            if assigned in obj:
                raise EventError(
                    "is assigned by the ledger when the event is appended; remove it", assigned
                )
    fields = _checked_keys(obj, DRAFT_KEYS, "an event")
    draft = EventDraft(
        id=_require_str(fields, "id"),
        period=_require_str(fields, "period"),
        occurred_at=_require_str(fields, "occurred_at"),
        contributor=_require_str(fields, "contributor"),
        kind=_require_str(fields, "kind"),
        points=_require_int(fields, "points"),
        rules=_require_str(fields, "rules"),
        ref=_require_str(fields, "ref"),
        source_sha256=_require_str(fields, "source_sha256"),
        reverses=_require_str(fields, "reverses"),
    )
    draft.validate()
    return draft


def event_from_json_object(obj: object) -> Event:
    """A sealed event object, checked against every per-event rule including its own `hash`."""
    fields = _checked_keys(obj, EVENT_KEYS, "an event")
    seq = _require_int(fields, "seq")
    if not 1 <= seq <= MAX_SAFE_INTEGER:
        raise EventError(f"must be at least 1, found {seq}", "seq")
    values = {
        key: _require_int(fields, key) if key in ("seq", "points") else _require_str(fields, key)
        for key in EVENT_KEYS
    }
    event = Event(**values)  # type: ignore[arg-type]
    event.draft.validate()
    for key in ("prev", "hash"):
        if not is_hex_sha256(values[key]):  # type: ignore[arg-type]
            raise EventError(f"must be 64 lowercase hex digits, found {values[key]!r}", key)
    unsealed = {key: value for key, value in values.items() if key != "hash"}
    computed = event_hash(unsealed)
    if computed != event.hash:
        raise EventError(
            f"does not match the event's content: expected {computed}, found {event.hash}", "hash"
        )
    return event


def parse_event_line(line: bytes) -> Event:
    """Parse one ledger line (with its `\\n`), enforcing that it is exactly JCS(event) + LF."""
    if not line.endswith(b"\n"):
        raise EventError("the line does not end with a newline (truncated or half-written?)")
    body = line[:-1]
    if b"\n" in body:
        raise EventError("the line contains more than one newline")
    if body.endswith(b"\r"):
        raise EventError("the line ends with CR LF; lines must end with LF only")
    if not body:
        raise EventError("the line is empty")
    try:
        obj = parse_strict_json(body)
    except CanonicalJsonError as exc:
        raise EventError(str(exc)) from None
    event = event_from_json_object(obj)
    canonical = format1_object_bytes(event.as_json_object())
    if canonical != body:
        raise EventError(
            "the line is not in canonical form (RFC 8785: sorted keys, no spaces, minimal "
            f"escapes); first difference at byte {_first_difference(canonical, body) + 1}"
        )
    return event


def _first_difference(left: bytes, right: bytes) -> int:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return min(len(left), len(right))


def period_of(timestamp: str) -> str:
    """The UTC month (`YYYY-MM`) of a format-1 timestamp."""
    return timestamp[:7]
