"""Inclusion proofs (spec §5): a row checks against the root alone; any alteration fails."""

import json

import pytest
from hypothesis import given

from selflink_core.rewards import (
    Figures,
    ProofError,
    check_proof,
    make_proof,
    parse_proof,
)
from tests.core.rewards.bundles import month_bundle
from tests.core.rewards.conftest import chain, draft
from tests.core.rewards.strategies import PERIODS, fast, figures, ledgers


@fast
@given(ledgers(), figures)
def test_every_row_has_a_proof_that_checks_against_the_root(events, month):
    bundle = month_bundle(events, PERIODS[0], month)
    for row in bundle.rows:
        data = make_proof(bundle, row.contributor).to_bytes()
        proof = parse_proof(data)
        assert proof.to_bytes() == data
        report = check_proof(proof, bundle.root)
        assert report.ok, report.mismatch
        assert report.root == bundle.root


@pytest.fixture
def bundle():
    events = chain(*(draft(id=str(n), contributor=f"github:{n}", points=n) for n in range(1, 6)))
    return month_bundle(events, "2025-01", Figures(revenue_cents=10_000))


def _altered(bundle, **changes):
    obj = make_proof(bundle, "github:3").as_json_object()
    obj.update(changes)
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode() + b"\n"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"leaf": "github:3,3,0,3,666,0,666,0,0"}, "manifest.merkle_root"),
        ({"index": 1}, "manifest.merkle_root"),
        ({"tree_size": 6}, "tree_size"),
        ({"period": "2025-02"}, "period"),
        ({"root": "0" * 64}, "root"),
        ({"path": []}, "path"),
    ],
)
def test_altered_proofs_fail(bundle, changes, field):
    report = check_proof(parse_proof(_altered(bundle, **changes)))
    assert not report.ok
    assert report.mismatch.field == field


def test_altered_manifest_breaks_the_root(bundle):
    obj = make_proof(bundle, "github:3").as_json_object()
    obj["manifest"]["paid_cents"] += 1
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    report = check_proof(parse_proof(data))
    assert report.mismatch.field == "root"


def test_a_different_published_root_fails(bundle):
    report = check_proof(make_proof(bundle, "github:3"), expected_root="f" * 64)
    assert not report.ok
    assert "published" in report.mismatch.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{}", "newline"),
        (b'{"format":"x"}\n', "missing key|unknown key"),
        (b'{"a":1.5}\n', "float"),
    ],
)
def test_malformed_proofs_are_refused(data, reason):
    with pytest.raises(ProofError, match=reason):
        parse_proof(data)


def test_non_canonical_proofs_are_refused(bundle):
    data = make_proof(bundle, "github:3").to_bytes()
    spaced = json.dumps(json.loads(data), sort_keys=True).encode() + b"\n"
    with pytest.raises(ProofError, match="canonical"):
        parse_proof(spaced)


def test_no_row_no_proof(bundle):
    with pytest.raises(ProofError, match="no row"):
        make_proof(bundle, "github:99")
