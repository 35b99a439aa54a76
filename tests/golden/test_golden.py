"""Golden bundles: the committed bytes are reproduced exactly, verify accepts them, and the
rows match the arithmetic worked by hand in cases.py. Run on 3.11, 3.12 and 3.13 by
`nox -s golden`, with only the core and the CLI installed."""

import hashlib
from pathlib import Path

import pytest

from selflink_core.rewards import parse_manifest, read_bundle
from tests.golden.cases import CASES, Case, Month
from tests.golden.golden import (
    SYNTH_ARGS,
    SYNTH_SHA256_FILE,
    calculate,
    case_folder,
    ledger_bytes,
    rewards,
    roots,
)

MONTHS = [
    pytest.param(case, index, id=f"{case.name}-{month.period}")
    for case in CASES
    for index, month in enumerate(case.months)
]


def _folder_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def _previous(case: Case, index: int) -> Path | None:
    return case_folder(case) / case.months[index - 1].period if index else None


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_sealing_reproduces_the_committed_ledger(case: Case):
    assert ledger_bytes(case) == (case_folder(case) / "ledger.jsonl").read_bytes()
    result = rewards("ledger", "verify", case_folder(case) / "ledger.jsonl")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(("case", "index"), MONTHS)
def test_calculate_reproduces_the_committed_bundle(case: Case, index: int, tmp_path: Path):
    month = case.months[index]
    result = calculate(case, month, tmp_path / "out", _previous(case, index))
    assert result.exit_code == 0, result.stderr
    assert _folder_bytes(tmp_path / "out") == _folder_bytes(case_folder(case) / month.period)
    assert roots(case)[month.period] in result.stdout


@pytest.mark.parametrize(("case", "index"), MONTHS)
def test_verify_accepts_the_committed_bundle(case: Case, index: int):
    month = case.months[index]
    args: list[object] = [
        "verify",
        case_folder(case) / month.period,
        "--ledger",
        case_folder(case) / "ledger.jsonl",
        "--root",
        roots(case)[month.period],
    ]
    if index:
        args += ["--previous", _previous(case, index)]
    result = rewards(*args)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(("case", "index"), MONTHS)
def test_rows_match_the_hand_arithmetic(case: Case, index: int):
    month: Month = case.months[index]
    folder = case_folder(case) / month.period
    bundle = read_bundle(_folder_bytes(folder))
    rows = [tuple(getattr(row, name) for name in row.__slots__) for row in bundle.rows]
    assert rows == month.expected_rows
    manifest = parse_manifest((folder / "manifest.json").read_bytes())
    for name, value in month.expected_totals.items():
        assert getattr(manifest, name) == value, name
    assert (
        manifest.paid_cents + manifest.carry_out_cents + manifest.rollover_out_cents
        == manifest.pool_cents + sum(row.carry_in_cents for row in bundle.rows)
    )


def test_synthetic_ledgers_are_the_same_on_every_python():
    result = rewards("ledger", "synth", *SYNTH_ARGS)
    assert hashlib.sha256(result.stdout_bytes).hexdigest() == SYNTH_SHA256_FILE.read_text().strip()
