"""The audit log's hash chain: each entry commits to the one before, like the rewards ledger.

An entry is the canonical JSON (RFC 8785) of `seq`, `at`, `actor`, `action`, `subject`,
`details` and `prev`; its `hash` is the SHA-256 of those bytes, and the next entry's `prev`.
Altering, removing or reordering any entry breaks every later hash.
"""

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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
        unsealed = self.unsealed()
        encoded = _plain_canonical_json(unsealed) if _is_plain(self.details) else None
        return hashlib.sha256(canonical_json(unsealed) if encoded is None else encoded).hexdigest()


def _is_plain(value: object) -> bool:
    """Strings, safe integers, lists and objects with ASCII keys: format-1 values whose RFC 8785
    form is exactly msgspec's compact JSON with sorted keys (key order by UTF-16 unit and by
    code point agree for ASCII; there are no floats to format; the escapes are the same)."""
    if type(value) is dict:  # the common case, flat details, without a call per value
        return all(
            type(key) is str and key.isascii() and (type(item) is str or _is_plain(item))
            for key, item in value.items()
        )
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
        for entry in entries:
            self.count += 1
            if entry.seq != self._expected_seq:
                return AuditChainProblem(entry.seq, f"expected seq {self._expected_seq}")
            if entry.prev != self._expected_prev:
                return AuditChainProblem(entry.seq, "prev does not name the previous entry")
            if entry.hash != entry.computed_hash():
                return AuditChainProblem(entry.seq, "hash does not match the entry's content")
            self._expected_seq, self._expected_prev = entry.seq + 1, entry.hash
        return None


def verify_audit_chain(entries: Iterable[AuditEntry]) -> tuple[int, AuditChainProblem | None]:
    """Check seq order, links and hashes; returns the entry count and the first problem."""
    checker = AuditChainChecker()
    problem = checker.check(entries)
    return checker.count, problem
