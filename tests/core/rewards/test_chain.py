"""Ledger verification: the first bad line and why, whether scanned whole or in chunks."""

import itertools
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selflink_core.rewards import (
    EMPTY_LEDGER_HEAD,
    EventError,
    LedgerHead,
    merge_chunks,
    parse_event_line,
    scan_chunk,
    scan_ledger,
    seal,
)
from tests.core.rewards.conftest import chain, draft
from tests.core.rewards.strategies import fast, ledger_bytes, ledgers


def _lines(events):
    return [event.line() for event in events]


def _chunked(lines, cuts):
    """Scan `lines` in pieces cut at `cuts`, the way the CLI splits a file across processes."""
    bounds = [0, *sorted(set(cuts)), len(lines)]
    chunks = [
        scan_chunk(lines[start:end], after=EMPTY_LEDGER_HEAD if index == 0 else None)
        for index, (start, end) in enumerate(itertools.pairwise(bounds))
    ]
    return merge_chunks([pickle.loads(pickle.dumps(chunk)) for chunk in chunks])


def test_a_valid_ledger_has_no_problem_and_its_head(three_events):
    scan = scan_ledger(_lines(three_events))
    assert scan.problem is None
    assert scan.head == LedgerHead(3, three_events[-1].hash)


def test_empty_ledger_is_valid():
    scan = scan_ledger([])
    assert scan.problem is None
    assert scan.head == EMPTY_LEDGER_HEAD


@fast
@given(ledgers(max_size=25), st.lists(st.integers(0, 25), max_size=3))
def test_valid_ledgers_pass_however_they_are_chunked(events, cuts):
    lines = _lines(events)
    cuts = [cut for cut in cuts if cut <= len(lines)]
    whole = scan_ledger(lines)
    assert whole.problem is None
    chunked = _chunked(lines, cuts)
    assert chunked.problem is None
    assert chunked.head == whole.head
    assert chunked.line_count == len(lines)


@fast
@given(
    ledgers(max_size=12, small_points=False),
    st.data(),
)
def test_any_changed_byte_is_caught_at_its_line_by_both_paths(events, data):
    """The fast path and the exact parser never disagree about a line."""
    lines = _lines(events)
    if not lines:
        return
    index = data.draw(st.integers(0, len(lines) - 1))
    line = bytearray(lines[index])
    position = data.draw(st.integers(0, len(line) - 1))
    line[position] = data.draw(st.integers(0, 255).filter(lambda b: b != line[position]))
    lines[index] = bytes(line)
    scan = scan_ledger(lines)
    assert scan.problem is not None
    assert scan.problem.line_number <= index + 2
    cuts = data.draw(st.lists(st.integers(0, len(lines)), max_size=2))
    assert _chunked(lines, cuts).problem == scan.problem
    if scan.problem.line_number == index + 1 and b"\n" not in lines[index][:-1]:
        try:
            parse_event_line(lines[index])
        except EventError:
            pass
        else:  # the line itself is fine: the chain around it broke
            assert "prev" in scan.problem.reason or "seq" in scan.problem.reason


def _tampered(events, index, **changes):
    """The ledger with event `index` replaced by a re-sealed variant (so its own hash is right)."""
    lines = _lines(events)
    event = events[index]
    head = EMPTY_LEDGER_HEAD if index == 0 else LedgerHead(event.seq - 1, event.prev)
    lines[index] = seal(draft(**{**event.draft.as_json_object(), **changes}), head).line()
    return lines


@pytest.mark.parametrize(
    ("make", "line", "reason"),
    [
        (lambda ev: _lines(ev)[:1] + _lines(ev)[2:], 2, "seq: expected 2"),
        (lambda ev: [*_lines(ev)[:2], _lines(ev)[2][:-1]], 3, "newline"),
        (lambda ev: _tampered(ev, 1, points=41), 3, "prev"),
        (
            lambda ev: [*_lines(ev)[:2], _lines(ev)[2].replace(b'"points":-5', b'"points":-6')],
            3,
            "hash",
        ),
        (lambda ev: [*_lines(ev), b"\n"], 4, "empty"),
    ],
)
def test_the_first_bad_line_is_named_with_its_reason(three_events, make, line, reason):
    scan = scan_ledger(make(three_events))
    assert scan.problem is not None
    assert scan.problem.line_number == line
    assert reason in scan.problem.reason


@pytest.mark.parametrize(
    ("third", "reason"),
    [
        ({"kind": "reversal", "points": -5, "reverses": "zzz"}, "not the id of an earlier event"),
        ({"kind": "reversal", "points": -5, "reverses": "c"}, "not the id of an earlier event"),
        ({"kind": "reversal", "points": -4, "reverses": "a"}, "negate"),
        (
            {"kind": "reversal", "points": -5, "reverses": "a", "contributor": "github:2"},
            "contributor",
        ),
        ({"kind": "reversal", "points": 0, "reverses": "b2"}, "itself a reversal"),
        ({"kind": "reversal", "points": -5, "reverses": "a", "id": "again"}, "already reversed"),
        ({"id": "a"}, "already used by seq 1"),
    ],
)
def test_ledger_wide_rules(third, reason):
    events = chain(
        draft(id="a", contributor="github:1", points=5),
        draft(id="b", contributor="github:1", points=3),
        draft(id="b2", contributor="github:1", kind="reversal", points=-3, reverses="b"),
        draft(id="r", contributor="github:1", kind="reversal", points=-5, reverses="a"),
        draft(**{"id": "c", "contributor": "github:1", **third}),
    )
    if "already reversed" not in reason:
        del events[3:]
        head = LedgerHead(3, events[2].hash)
        events.append(seal(draft(**{"id": "c", "contributor": "github:1", **third}), head))
    lines = _lines(events)
    for scan in (scan_ledger(lines), _chunked(lines, [1]), _chunked(lines, [3])):
        assert scan.problem is not None
        assert reason in scan.problem.reason
        assert scan.problem.line_number == len(lines)


def test_check_new_event_refuses_duplicates_and_bad_reversals(three_events):
    scan = scan_ledger(_lines(three_events))
    with pytest.raises(EventError, match="already in the ledger at seq 2"):
        scan.check_new_event(draft(id="b"))
    with pytest.raises(EventError, match="already reversed by seq 3"):
        scan.check_new_event(draft(id="d", kind="reversal", points=-5, reverses="a"))
    scan.check_new_event(
        draft(id="d", kind="reversal", points=-40, reverses="b", contributor="github:2")
    )


def test_period_events_and_marked_hash_are_collected(three_events):
    scan = scan_ledger(_lines(three_events), period="2025-01", mark_seq=2)
    assert [event.seq for event in scan.period_events] == [1, 2, 3]
    assert scan.marked_hash == three_events[1].hash
    assert scan_ledger(_lines(three_events), period="2025-02").period_events == []


def test_selection_mode_accepts_gaps_but_not_disorder(three_events):
    lines = _lines(three_events)
    assert scan_chunk([lines[0], lines[2]], after=None, contiguous=False).problem is None
    problem = scan_chunk([lines[2], lines[0]], after=None, contiguous=False).problem
    assert problem is not None
    assert "greater than" in problem.reason


def test_ledger_bytes_round_trip(three_events):
    data = ledger_bytes(three_events)
    assert scan_ledger(data.splitlines(keepends=True)).head.seq == 3
