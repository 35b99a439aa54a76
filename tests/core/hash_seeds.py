"""Running a script in fresh interpreters, so set and dict order cannot leak into bytes."""

import os
import subprocess
import sys
from pathlib import Path

HASH_SEEDS = ("0", "1", "4242")


def outputs_across_hash_seeds(script: str) -> set[str]:
    """The distinct standard outputs of `script` under each of `HASH_SEEDS`."""
    outputs = set()
    for seed in HASH_SEEDS:
        done = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        outputs.add(done.stdout)
    return outputs
