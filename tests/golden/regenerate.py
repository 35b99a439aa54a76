"""Rewrite the golden files from `cases.py`: `uv run python -m tests.golden.regenerate`.

Only for a deliberate change of the cases. A change of the code must never require it: the
golden tests exist to prove the bytes do not move.
"""

import hashlib
import json
import shutil

from tests.golden.cases import CASES
from tests.golden.golden import (
    SYNTH_ARGS,
    SYNTH_SHA256_FILE,
    calculate,
    case_folder,
    ledger_bytes,
    rewards,
)


def main() -> None:
    for case in CASES:
        folder = case_folder(case)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        (folder / "ledger.jsonl").write_bytes(ledger_bytes(case))
        previous = None
        root_lines = []
        for month in case.months:
            out = folder / month.period
            result = calculate(case, month, out, previous)
            assert result.exit_code == 0, result.stderr
            root_lines.append(f"{month.period} {json.loads(result.stdout)['root']}\n")
            previous = out
        (folder / "roots.txt").write_text("".join(root_lines))
    synth = rewards("ledger", "synth", *SYNTH_ARGS)
    SYNTH_SHA256_FILE.write_text(hashlib.sha256(synth.stdout_bytes).hexdigest() + "\n")


if __name__ == "__main__":
    main()
