"""The audit chain: the fast canonical form equals the reference one, and checking a log in
runs finds the same problem as checking it whole."""

import hashlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from selflink_core.audit import (
    AuditChainChecker,
    AuditEntry,
    seal_audit_entry,
    verify_audit_chain,
)
from selflink_core.rewards.canonical import MAX_SAFE_INTEGER, canonical_json

any_text = st.text(st.characters(exclude_categories=()))  # lone surrogates too
keys = st.one_of(st.text(max_size=12), any_text)
scalars = st.one_of(
    st.text(),
    any_text,
    st.integers(min_value=-MAX_SAFE_INTEGER - 1, max_value=MAX_SAFE_INTEGER + 1),
)
details = st.recursive(
    st.dictionaries(keys, scalars, max_size=5),
    lambda inner: st.dictionaries(keys, st.one_of(scalars, inner, st.lists(inner, max_size=3))),
    max_leaves=20,
)


def reference_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical_json(entry.unsealed())).hexdigest()


@given(details=details, subject=st.one_of(st.text(), any_text))
def test_the_hash_is_the_reference_hash_of_the_canonical_form(
    details: dict[str, Any], subject: str
) -> None:
    entry = AuditEntry(1, "2026-01-01T00:00:00Z", "system", "act", subject, details)
    try:
        expected = reference_hash(entry)
    except ValueError:  # lone surrogates: neither form may produce a hash
        expected = None
    try:
        found: str | None = entry.computed_hash()
    except ValueError:
        found = None
    assert found == expected


def chain(length: int) -> list[AuditEntry]:
    entries, seq, prev = [], 0, "0" * 64
    for number in range(length):
        entry = seal_audit_entry(
            head_seq=seq,
            head_hash=prev,
            at="2026-01-01T00:00:00Z",
            actor="system",
            action="act",
            subject=f"thing:{number}",
            details={"n": number},
        )
        entries.append(entry)
        seq, prev = entry.seq, entry.hash
    return entries


@given(
    length=st.integers(min_value=1, max_value=30),
    broken=st.integers(min_value=0, max_value=29),
    run=st.integers(min_value=1, max_value=7),
)
def test_checking_in_runs_finds_the_same_problem_as_checking_whole(
    length: int, broken: int, run: int
) -> None:
    entries = chain(length)
    if broken < length:
        altered = entries[broken]
        entries[broken] = AuditEntry(
            altered.seq,
            altered.at,
            altered.actor,
            altered.action,
            "thing:else",
            altered.details,
            altered.prev,
            altered.hash,
        )
    whole = verify_audit_chain(entries)
    checker = AuditChainChecker()
    problem = None
    for start in range(0, length, run):
        problem = checker.check(entries[start : start + run])
        if problem is not None:
            break
    assert (checker.count, problem) == whole
    assert (problem is None) == (broken >= length)
