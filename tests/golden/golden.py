"""Shared by the golden tests and `regenerate.py`: where each case lives and how it is built."""

from pathlib import Path

from typer.testing import CliRunner, Result

from selflink_cli.main import app
from selflink_core.rewards import EMPTY_LEDGER_HEAD, EventDraft, LedgerHead, seal
from tests.golden.cases import Case, Month

GOLDEN = Path(__file__).parent
SYNTH_ARGS = [
    "--events",
    "500",
    "--contributors",
    "20",
    "--periods",
    "2025-01..2025-03",
    "--seed",
    "1",
]
SYNTH_SHA256_FILE = GOLDEN / "synth.sha256"


def ledger_bytes(case: Case) -> bytes:
    head = EMPTY_LEDGER_HEAD
    lines = []
    for fields in case.events:
        event = seal(EventDraft(**fields), head)
        lines.append(event.line())
        head = LedgerHead(event.seq, event.hash)
    return b"".join(lines)


def case_folder(case: Case) -> Path:
    return GOLDEN / case.name


def rewards(*args: object) -> Result:
    return CliRunner().invoke(app, ["rewards", *map(str, args)], catch_exceptions=False)


def calculate(case: Case, month: Month, out: Path, previous: Path | None) -> Result:
    args: list[object] = [
        "calculate",
        "--ledger",
        case_folder(case) / "ledger.jsonl",
        "--period",
        month.period,
        "--out",
        out,
        "--json",
    ]
    for name, value in month.figures.items():
        args += ["--" + name.replace("_", "-"), value]
    if previous is not None:
        args += ["--previous", previous]
    return rewards(*args)


def roots(case: Case) -> dict[str, str]:
    text = (case_folder(case) / "roots.txt").read_text()
    return dict(line.split(" ") for line in text.splitlines())  # type: ignore[misc]
