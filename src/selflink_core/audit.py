"""The audit log's hash chain: each entry commits to the one before, like the rewards ledger.

An entry is the canonical JSON (RFC 8785) of `seq`, `at`, `actor`, `action`, `subject`,
`details` and `prev`; its `hash` is the SHA-256 of those bytes, and the next entry's `prev`.
Altering, removing or reordering any entry breaks every later hash.
"""

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

import msgspec

from selflink_core.rewards.canonical import MAX_SAFE_INTEGER, JsonValue, canonical_json

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details: Mapping[str, JsonValue] = field(default_factory=dict)
    prev: str = GENESIS_HASH
    hash: str = ""

    def unsealed(self) -> dict[str, JsonValue]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": dict(self.details),
            "prev": self.prev,
        }

    def computed_hash(self) -> str:
        return entry_hash(*self.row()[:7])

    def row(self) -> "AuditRow":
        return (
            self.seq,
            self.at,
            self.actor,
            self.action,
            self.subject,
            self.details,
            self.prev,
            self.hash,
        )


AuditRow = tuple[int, str, str, str, str, Mapping[str, JsonValue], str, str]
"""An entry as its columns, in `AuditEntry`'s order."""

StoredAuditRow = tuple[int, str, str, str, str, str, str, str]
"""An entry as storage holds it: its columns, `details` as JSON text."""

_FLAT_DETAILS = msgspec.json.Decoder(
    dict[str, str | Annotated[int, msgspec.Meta(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]]
)
_ANY_JSON = msgspec.json.Decoder()
D = TypeVar("D")


def _checked_plain(details: Mapping[str, JsonValue]) -> tuple[Mapping[str, JsonValue], bool]:
    return details, _is_plain(details)


def _stored_details(text: str) -> tuple[Mapping[str, JsonValue], bool]:
    """The details of their stored JSON text, and whether they are plain (see `_is_plain`):
    ASCII text without escapes has ASCII keys, and the flat type admits only strings and safe
    integers, so the common case is proven plain by the decoder itself."""
    if text.isascii() and "\\" not in text:
        try:
            return _FLAT_DETAILS.decode(text), True
        except msgspec.ValidationError:
            pass
    details = _ANY_JSON.decode(text)
    return details, _is_plain(details)


def entry_hash(
    seq: int,
    at: str,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, JsonValue],
    prev: str,
) -> str:
    """The SHA-256 of the entry's canonical JSON (its `hash`)."""
    unsealed: dict[str, JsonValue] = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details,
        "prev": prev,
    }
    return _hash(unsealed, plain=_is_plain(details))


def _hash(unsealed: dict[str, JsonValue], *, plain: bool) -> str:
    encoded = _plain_canonical_json(unsealed) if plain else None
    return hashlib.sha256(canonical_json(unsealed) if encoded is None else encoded).hexdigest()


def _is_plain(value: object) -> bool:  # noqa: PLR0911 - audit verify's hot path, kept flat
    """Strings, safe integers, lists and objects with ASCII keys: format-1 values whose RFC 8785
    form is exactly msgspec's compact JSON with sorted keys (key order by UTF-16 unit and by
    code point agree for ASCII; there are no floats to format; the escapes are the same)."""
    if type(value) is dict:  # the common case, flat details: no call per string or integer
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            kind = type(item)
            if kind is int:
                if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    return False
            elif kind is not str and not _is_plain(item):
                return False
        return True
    if type(value) is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if type(value) is list:
        return all(_is_plain(item) for item in value)
    return type(value) is str


_SORTED_JSON = msgspec.json.Encoder(order="sorted")


def _plain_canonical_json(unsealed: dict[str, JsonValue]) -> bytes | None:
    """The canonical bytes of an entry with plain details, without the reference's cost; None
    for a lone surrogate (then `canonical_json` explains what is not allowed)."""
    try:
        return _SORTED_JSON.encode(unsealed)
    except UnicodeEncodeError:
        return None


def seal_audit_entry(
    *,
    head_seq: int,
    head_hash: str,
    at: str,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, JsonValue] | None = None,
) -> AuditEntry:
    """The entry after the head (`head_seq` 0 and the genesis hash for an empty log)."""
    entry = AuditEntry(head_seq + 1, at, actor, action, subject, dict(details or {}), head_hash)
    return dataclasses.replace(entry, hash=entry.computed_hash())


@dataclass(frozen=True, slots=True)
class AuditChainProblem:
    seq: int
    reason: str


class AuditChainChecker:
    """Checks a log handed over in consecutive runs, remembering only the last link: a log of
    any length is verified in the memory of one run."""

    def __init__(self) -> None:
        self.count = 0
        self._expected_seq, self._expected_prev = 1, GENESIS_HASH

    def check(self, entries: Iterable[AuditEntry]) -> AuditChainProblem | None:
        """The first problem among `entries`, which follow the runs checked before."""
        return self.check_rows(entry.row() for entry in entries)

    def check_stored(self, rows: Iterable[StoredAuditRow]) -> AuditChainProblem | None:
        """`check_rows` for rows as storage holds them, `details` as JSON text: decoded here,
        where flat details are proven plain by their decoding (a million entries in seconds)."""
        return self._check(rows, _stored_details)

    def check_rows(self, rows: Iterable[AuditRow]) -> AuditChainProblem | None:
        """`check` for entries given as their columns, without an object per entry."""
        return self._check(rows, _checked_plain)

    def _check(
        self,
        rows: Iterable[tuple[int, str, str, str, str, D, str, str]],
        details_of: Callable[[D], tuple[Mapping[str, JsonValue], bool]],
    ) -> AuditChainProblem | None:
        expected_seq, expected_prev = self._expected_seq, self._expected_prev
        problem = None
        for seq, at, actor, action, subject, stored_details, prev, stored_hash in rows:
            self.count += 1
            if seq != expected_seq:
                problem = AuditChainProblem(seq, f"expected seq {expected_seq}")
                break
            if prev != expected_prev:
                problem = AuditChainProblem(seq, "prev does not name the previous entry")
                break
            details, plain = details_of(stored_details)
            unsealed: dict[str, JsonValue] = {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "subject": subject,
                "details": details,
                "prev": prev,
            }
            if stored_hash != _hash(unsealed, plain=plain):
                problem = AuditChainProblem(seq, "hash does not match the entry's content")
                break
            expected_seq, expected_prev = seq + 1, stored_hash
        self._expected_seq, self._expected_prev = expected_seq, expected_prev
        return problem


def verify_audit_chain(entries: Iterable[AuditEntry]) -> tuple[int, AuditChainProblem | None]:
    """Check seq order, links and hashes; returns the entry count and the first problem."""
    checker = AuditChainChecker()
    problem = checker.check(entries)
    return checker.count, problem
