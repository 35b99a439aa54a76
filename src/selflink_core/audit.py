"""The audit log's hash chain: each entry commits to the one before, like the rewards ledger.

An entry is the canonical JSON (RFC 8785) of `seq`, `at`, `actor`, `action`, `subject`,
`details` and `prev`; its `hash` is the SHA-256 of those bytes, and the next entry's `prev`.
Altering, removing or reordering any entry breaks every later hash.
"""

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from selflink_core.rewards.canonical import JsonValue, canonical_json

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
        return hashlib.sha256(canonical_json(self.unsealed())).hexdigest()


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


def verify_audit_chain(entries: Iterable[AuditEntry]) -> tuple[int, AuditChainProblem | None]:
    """Check seq order, links and hashes; returns the entry count and the first problem."""
    expected_seq, expected_prev, count = 1, GENESIS_HASH, 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return count, AuditChainProblem(entry.seq, f"expected seq {expected_seq}")
        if entry.prev != expected_prev:
            return count, AuditChainProblem(entry.seq, "prev does not name the previous entry")
        if entry.hash != entry.computed_hash():
            return count, AuditChainProblem(entry.seq, "hash does not match the entry's content")
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    return count, None
