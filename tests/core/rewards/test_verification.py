"""What `verify_bundle` says when something differs: file, place, field, expected and found."""

import pytest

from selflink_core.rewards import (
    PAYOUTS_FILE,
    Figures,
    InconsistentBundleError,
    PreviousBundleError,
    explain_row,
    read_consistent_bundle,
    scan_ledger,
    verify_bundle,
)
from selflink_core.rewards.bundle import sha256_hex, sums_file
from tests.core.rewards.bundles import month_bundle
from tests.core.rewards.conftest import chain, draft


@pytest.fixture
def events():
    return chain(
        draft(id="a", contributor="github:1", points=5),
        draft(id="b", contributor="github:2", points=3, period="2025-02"),
        draft(id="c", contributor="github:2", kind="bounty", points=10),
    )


def _reseal(files):
    """Recompute SHA256SUMS so only the deeper checks can notice a change."""
    return {
        **files,
        "SHA256SUMS": sums_file(
            files["events.jsonl"], files["manifest.json"], files["payouts.csv"]
        ),
    }


def test_a_changed_file_is_named_with_both_hashes(events):
    files = month_bundle(events, "2025-01", Figures(revenue_cents=1000)).files()
    changed = {**files, PAYOUTS_FILE: files[PAYOUTS_FILE] + b"x"}
    mismatch = verify_bundle(changed).mismatch
    assert mismatch.file == PAYOUTS_FILE
    assert mismatch.expected != mismatch.found
    assert "SHA256SUMS" in mismatch.reason


def test_a_consistent_bundle_reads_back_and_resealed_payouts_do_not(events):
    bundle = month_bundle(events, "2025-01", Figures(revenue_cents=1000))
    files = bundle.files()
    assert read_consistent_bundle(files) == bundle
    payouts = files[PAYOUTS_FILE].replace(b"github:1,5,0,5,167,0,167", b"github:1,5,0,5,168,0,168")
    with pytest.raises(InconsistentBundleError) as raised:
        read_consistent_bundle(_reseal({**files, PAYOUTS_FILE: payouts}))
    assert str(raised.value) == (
        "manifest.json: payouts_sha256 or merkle_root does not match payouts.csv"
    )


def test_a_changed_payout_names_row_and_field(events):
    files = month_bundle(events, "2025-01", Figures(revenue_cents=1000)).files()
    payouts = files[PAYOUTS_FILE].replace(b"github:1,5,0,5,167,0,167", b"github:1,5,0,5,168,0,168")
    assert payouts != files[PAYOUTS_FILE]
    manifest = files["manifest.json"].replace(
        sha256_hex(files[PAYOUTS_FILE]).encode(), sha256_hex(payouts).encode()
    )
    mismatch = verify_bundle(
        _reseal({**files, PAYOUTS_FILE: payouts, "manifest.json": manifest})
    ).mismatch
    assert mismatch.message() == (
        "payouts.csv line 2 (github:1), share_cents: recomputing the month gives a different "
        "value (expected 167, found 168)"
    )


def test_a_manifest_total_that_does_not_add_up(events):
    files = month_bundle(events, "2025-01", Figures(revenue_cents=1000)).files()
    manifest = files["manifest.json"].replace(b'"paid_cents":500', b'"paid_cents":499')
    mismatch = verify_bundle(_reseal({**files, "manifest.json": manifest})).mismatch
    assert (mismatch.file, mismatch.field, mismatch.expected, mismatch.found) == (
        "manifest.json",
        "paid_cents",
        "500",
        "499",
    )


def test_previous_month_is_required_and_checked(events):
    january = month_bundle(events, "2025-01", Figures(revenue_cents=1000))
    february = month_bundle(events, "2025-02", Figures(), previous=january)
    with pytest.raises(PreviousBundleError, match="--previous"):
        verify_bundle(february.files())
    other = month_bundle(events, "2025-01", Figures(revenue_cents=999))
    mismatch = verify_bundle(february.files(), previous=other.files()).mismatch
    assert mismatch.field == "previous_root"
    with pytest.raises(PreviousBundleError, match="2024-12"):
        verify_bundle(january.files(), previous=month_bundle([], "2024-11", Figures()).files())
    assert verify_bundle(february.files(), previous=january.files()).ok


def test_ledger_checks_events_and_head(events):
    lines = [event.line() for event in events]
    bundle = month_bundle(events, "2025-01", Figures())
    scan = scan_ledger(lines, period="2025-01", mark_seq=3)
    assert verify_bundle(bundle.files(), ledger=scan, ledger_name="l.jsonl").ok
    shorter = month_bundle(events[:2], "2025-01", Figures())
    scan = scan_ledger(lines, period="2025-01", mark_seq=2)
    assert verify_bundle(shorter.files(), ledger=scan).ok
    missing = {**bundle.files()}
    missing["events.jsonl"] = lines[0]
    mismatch = verify_bundle(
        _reseal(missing), ledger=scan_ledger(lines, period="2025-01", mark_seq=3)
    ).mismatch
    assert mismatch is not None
    broken = scan_ledger([lines[0], lines[2]], period="2025-01", mark_seq=3)
    mismatch = verify_bundle(bundle.files(), ledger=broken, ledger_name="l.jsonl").mismatch
    assert (mismatch.file, mismatch.where) == ("l.jsonl", "line 2")


def test_explain_shows_the_arithmetic(events):
    bundle = month_bundle(events, "2025-01", Figures(revenue_cents=1000))
    explanation = explain_row(bundle, "github:2")
    assert [event.id for event in explanation.events] == ["c"]
    text = "\n".join(explanation.steps)
    assert "floor(500 x 10 / 15) = 333" in text
    assert "payout_cents = 333" in text
