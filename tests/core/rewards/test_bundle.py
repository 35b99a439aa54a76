"""Bundles (spec §4): deterministic bytes, faithful round trips, a root committing to each byte."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selflink_core.rewards import (
    BUNDLE_FILES,
    PAYOUTS_FILE,
    SUMS_FILE,
    BundleError,
    Figures,
    read_bundle,
    scan_ledger,
    verify_bundle,
)
from selflink_core.rewards.bundle import sums_file
from tests.core.rewards.bundles import consecutive_bundles, month_bundle
from tests.core.rewards.strategies import PERIODS, fast, figures, ledgers, three_months


@fast
@given(ledgers(), three_months, st.randoms(use_true_random=False))
def test_same_inputs_same_bytes_whatever_the_order_of_other_months(events, months, random):
    first = consecutive_bundles(events, PERIODS, months)
    shuffled = list(events)
    random.shuffle(shuffled)
    again = consecutive_bundles(shuffled, PERIODS, months)
    assert [b.files() for b in first] == [b.files() for b in again]
    scan = scan_ledger([event.line() for event in events], period=PERIODS[1])
    assert scan.period_events == [e for e in scan.period_events if e.line in first[1].event_lines]
    assert tuple(e.line for e in scan.period_events) == first[1].event_lines


@fast
@given(ledgers(), three_months)
def test_reading_and_writing_again_gives_the_same_bytes(events, months):
    for bundle in consecutive_bundles(events, PERIODS, months):
        files = bundle.files()
        assert read_bundle(files).files() == files
        assert read_bundle(files).root == bundle.root


@fast
@given(ledgers(), three_months)
def test_every_bundle_verifies_against_its_previous_month(events, months):
    bundles = consecutive_bundles(events, PERIODS, months)
    previous = None
    for bundle in bundles:
        report = verify_bundle(bundle.files(), previous=previous, expected_root=bundle.root)
        assert report.ok, report.mismatch
        previous = bundle.files()


@fast
@given(ledgers(max_size=10), figures, st.data())
def test_any_changed_byte_changes_the_root_or_fails_verification(events, month, data):
    files = month_bundle(events, PERIODS[0], month).files()
    root = hashlib.sha256(files[SUMS_FILE]).hexdigest()
    name = data.draw(st.sampled_from([n for n in BUNDLE_FILES if files[n]]))
    content = bytearray(files[name])
    position = data.draw(st.integers(0, len(content) - 1))
    content[position] = data.draw(st.integers(0, 255).filter(lambda b: b != content[position]))
    changed = {**files, name: bytes(content)}
    assert not verify_bundle(changed).ok
    if name != SUMS_FILE:
        changed[SUMS_FILE] = sums_file(
            changed["events.jsonl"], changed["manifest.json"], changed["payouts.csv"]
        )
    assert hashlib.sha256(changed[SUMS_FILE]).hexdigest() != root


def test_sums_file_is_what_sha256sum_checks():
    bundle = month_bundle([], "2025-01", Figures(revenue_cents=100))
    files = bundle.files()
    lines = files[SUMS_FILE].decode().splitlines()
    assert [line.split("  ")[1] for line in lines] == [
        "events.jsonl",
        "manifest.json",
        "payouts.csv",
    ]
    assert files[PAYOUTS_FILE] == (
        b"contributor,period_points,points_carry_in,eligible_points,share_cents,"
        b"carry_in_cents,payout_cents,carry_out_cents,points_carry_out\n"
    )
    assert bundle.manifest.merkle_root == hashlib.sha256(b"").hexdigest()
    assert bundle.manifest.rollover_out_cents == 50


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("manifest.json", b"{}\n", "unknown key|missing key"),
        ("manifest.json", b'{"a": 1}\n', "missing key|unknown key"),
        ("payouts.csv", b"contributor\n", "first line"),
        ("payouts.csv", None, "sorted"),
        ("payouts.csv", "numbers", "plain decimal"),
    ],
)
def test_reader_names_file_and_problem(name, content, reason):
    from tests.core.rewards.conftest import chain, draft

    events = chain(draft(id="a", contributor="b"), draft(id="c", contributor="a"))
    files = month_bundle(events, "2025-01", Figures(revenue_cents=100)).files()
    header, first, second = files[PAYOUTS_FILE].splitlines(keepends=True)
    if content is None:
        content = header + second + first
    elif content == "numbers":
        content = header + first.replace(b",", b",+", 1) + second
    with pytest.raises(BundleError, match=reason):
        read_bundle({**files, name: content})


def test_a_previous_bundle_of_the_wrong_month_is_refused():
    january = month_bundle([], "2025-01", Figures())
    with pytest.raises(BundleError, match="must be for 2025-02"):
        month_bundle([], "2025-03", Figures(), previous=january)
    with pytest.raises(BundleError, match="currency"):
        month_bundle([], "2025-02", Figures(currency="EUR"), previous=january)


@fast
@given(ledgers(), three_months)
def test_a_previous_month_kept_as_manifest_and_rows_chains_the_same(events, months):
    """A service may keep only the manifest and rows of a published month."""
    from selflink_core.rewards import Bundle

    january, february = consecutive_bundles(events, PERIODS[:2], months[:2])
    slim = Bundle(manifest=january.manifest, rows=january.rows, event_lines=())
    assert slim.root == january.root
    again = month_bundle(events, PERIODS[1], months[1], previous=slim)
    assert again.files() == february.files()
