"""`selflink-api`: Litestar's command line bound to the SelfLink app, plus our own commands."""

import os

from litestar.__main__ import run_cli


def main() -> None:
    """Run the CLI with `--app` pre-set, so `selflink-api run` and friends need no flags."""
    os.environ.setdefault("LITESTAR_APP", "selflink_api.app:create_app")
    run_cli()
