"""Operator commands of `selflink-api` over every domain (`pii rotate-key`)."""

from typing import TYPE_CHECKING

import click

from selflink_api.platform.commands import OperatorGroup, run_in_session

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession


@click.group(name="pii", cls=OperatorGroup)
def pii() -> None:
    """Encrypted personal data."""


@click.command(name="rotate-key")
def rotate_key(app: "Litestar") -> None:
    """Re-seal every domain's encrypted personal data that uses an older key with
    PII_ACTIVE_KEY_ID."""
    from selflink_api.domains import DOMAINS
    from selflink_api.platform.domains import Shared, all_encrypted_stores

    shared: Shared = app.state.shared
    stores = all_encrypted_stores(DOMAINS)

    async def rotate(session: "AsyncSession") -> list[int]:
        return [await store.reseal(session, shared.cipher) for store in stores]

    changed = run_in_session(app, rotate)
    counts = [f"{count} {store.label}" for store, count in zip(stores, changed, strict=True)]
    listed = ", ".join(counts[:-1]) + f" and {counts[-1]}" if len(counts) > 1 else counts[0]
    click.echo(f"re-encrypted {listed} with {shared.cipher.active_key_id!r}")


pii.add_command(rotate_key)

COMMANDS = (pii,)
