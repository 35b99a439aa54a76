"""Every field rule of spec §1, sealing, and the canonical-line requirement."""

import hashlib
import json

import pytest
from hypothesis import given

from selflink_core.rewards import (
    EMPTY_LEDGER_HEAD,
    ZERO_HASH,
    EventError,
    draft_from_json_object,
    parse_event_line,
    seal,
)
from tests.core.rewards.conftest import draft
from tests.core.rewards.strategies import fast, ledgers


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": ""}, "id"),
        ({"id": "x" * 201}, "id"),
        ({"period": "2025-13"}, "period"),
        ({"period": "2025-1"}, "period"),
        ({"period": "2025-01\n"}, "period"),
        ({"occurred_at": "2025-02-30T10:00:00Z"}, "occurred_at"),
        ({"occurred_at": "2025-01-15T10:00:00+00:00"}, "occurred_at"),
        ({"occurred_at": "2025-01-15T24:00:00Z"}, "occurred_at"),
        ({"occurred_at": "2025-01-15 10:00:00Z"}, "occurred_at"),
        ({"contributor": "github 1"}, "contributor"),
        ({"contributor": "é"}, "contributor"),
        ({"contributor": ""}, "contributor"),
        ({"kind": "gift"}, "kind"),
        ({"points": 1_000_001}, "points"),
        ({"points": -1}, "points"),
        ({"kind": "bounty", "points": -1}, "points"),
        ({"kind": "penalty", "points": 1}, "points"),
        ({"kind": "adjustment", "points": -1_000_001}, "points"),
        ({"rules": ""}, "rules"),
        ({"rules": "v" * 33}, "rules"),
        ({"rules": "v 1"}, "rules"),
        ({"ref": "r" * 501}, "ref"),
        ({"ref": "\ud800"}, "ref"),
        ({"source_sha256": "ABC"}, "source_sha256"),
        ({"source_sha256": "A" * 64}, "source_sha256"),
        ({"reverses": "x"}, "reverses"),
        ({"kind": "reversal", "points": 0, "reverses": ""}, "reverses"),
    ],
)
def test_each_field_rule_is_enforced(changes, field):
    with pytest.raises(EventError) as caught:
        draft(**changes).validate()
    assert caught.value.field == field


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "adjustment", "points": -1_000_000},
        {"kind": "penalty", "points": 0},
        {"kind": "bonus", "points": 1_000_000},
        {"ref": "", "id": "x" * 200, "contributor": "a.b_c:d@e/f+g-h"},
        {"occurred_at": "2024-02-29T23:59:59Z", "period": "2024-03"},
        {"ref": "\u2028 😀 \x00"},
    ],
)
def test_boundary_values_are_valid(changes):
    draft(**changes).validate()


def test_seal_chains_and_hashes_the_event_without_its_hash():
    first = seal(draft(id="a"), EMPTY_LEDGER_HEAD)
    assert (first.seq, first.prev) == (1, ZERO_HASH)
    unsealed = {k: v for k, v in first.as_json_object().items() if k != "hash"}
    body = json.dumps(unsealed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first.hash == hashlib.sha256(body.encode()).hexdigest()
    second = seal(draft(id="b"), type(EMPTY_LEDGER_HEAD)(first.seq, first.hash))
    assert (second.seq, second.prev) == (2, first.hash)


@fast
@given(ledgers(max_size=6, small_points=False))
def test_lines_parse_back_to_the_same_event(events):
    for event in events:
        assert parse_event_line(event.line()) == event


def _line(**changes: object) -> bytes:
    event = seal(draft(), EMPTY_LEDGER_HEAD).as_json_object()
    event.update(changes)  # type: ignore[arg-type]
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (lambda good: good[:-1], "does not end with a newline"),
        (lambda good: good[:-1] + b"\r\n", "CR LF"),
        (lambda good: good.replace(b'"points":5', b'"points":5.0'), "float"),
        (lambda good: good.replace(b'"points":5', b'"points":true'), "true is not allowed"),
        (lambda good: good.replace(b'"points":5', b'"points":"5"'), "must be an integer"),
        (lambda good: good.replace(b'"points":5', b'"points":05'), "not valid JSON"),
        (lambda good: good.replace(b"{", b'{"extra":"x",', 1), "unknown key"),
        (lambda good: good.replace(b'"ref":"', b'"ref":"\\u0041', 1), "hash"),
        (lambda good: good.replace(b":", b": ", 1), "canonical"),
        (lambda good: b"\n", "empty"),
        (lambda good: good.replace(b'"hash":"', b'"hash":"0', 1), "hash"),
    ],
)
def test_lines_that_are_not_exactly_jcs_are_refused(line, reason):
    good = seal(draft(), EMPTY_LEDGER_HEAD).line()
    with pytest.raises(EventError, match=reason):
        parse_event_line(line(good))


def test_a_non_canonical_escape_is_refused_even_with_a_matching_hash():
    event = seal(draft(ref="A"), EMPTY_LEDGER_HEAD)
    line = event.line().replace(b'"ref":"A"', b'"ref":"\\u0041"')
    with pytest.raises(EventError, match="canonical"):
        parse_event_line(line)


def test_missing_key_is_named():
    obj = seal(draft(), EMPTY_LEDGER_HEAD).as_json_object()
    del obj["ref"]
    line = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    with pytest.raises(EventError, match="missing key 'ref'"):
        parse_event_line(line)


def test_author_event_objects_must_not_carry_ledger_fields():
    obj = draft().as_json_object()
    assert draft_from_json_object(obj) == draft()
    with pytest.raises(EventError, match="assigned by the ledger"):
        draft_from_json_object({**obj, "seq": 1})
    with pytest.raises(EventError, match="unknown key 'note'"):
        draft_from_json_object({**obj, "note": "x"})
    with pytest.raises(EventError, match="must be an integer"):
        draft_from_json_object({**obj, "points": "5"})
