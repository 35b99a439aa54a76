"""A committed version's rows (`reward_bundle_rows`): what statements and month pages read
instead of the bundles, equal to the bundle's payouts.csv, and backfilled by migration 0011."""

from pathlib import Path

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.platform.database import build_sqlalchemy_config, upgrade_schema
from selflink_api.settings import Settings
from selflink_core.rewards import parse_payouts
from tests.api.test_auth import make_staff
from tests.api.test_rewards_import import import_ledger, ledger, lines_of, run, write

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


async def commit(database_url: str, period: str) -> None:
    figures = ("--revenue-cents", "100000", "--costs-cents", "0", "--min-payout-cents", "0")
    done = await run(database_url, "rewards", "snapshot", "--period", period, *figures, "--commit")
    assert done.returncode == 0, done.stderr


async def published(client: Client) -> dict[str, object]:
    statements = {}
    for key in ("github:100", "github:101", "github:102"):
        response = await client.get(f"/api/v1/rewards/contributors/{key}/statement")
        assert response.status_code == 200, response.text
        statements[key] = response.json()
    return {"periods": (await client.get("/api/v1/rewards/periods")).json(), **statements}


def migrate_to(settings: Settings, revision: str) -> None:
    config = build_sqlalchemy_config(settings)
    try:
        if revision == "head":
            upgrade_schema(config)
        else:
            from advanced_alchemy.alembic.commands import AlembicCommands

            AlembicCommands(sqlalchemy_config=config).downgrade(revision=revision)
    finally:
        anyio.run(config.get_engine().dispose)


async def test_statements_and_month_rows_come_from_the_rows_and_survive_a_backfill(
    client: Client, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    await make_staff(client, settings)
    file = write(tmp_path / "ledger.jsonl", lines_of(ledger(12)))
    assert (await import_ledger(database_url, file)).returncode == 0
    await commit(database_url, "2026-08")
    await commit(database_url, "2026-08")  # a second version: only the current one counts
    payouts = await client.get("/api/v1/rewards/periods/2026-08/files/payouts.csv")
    rows = {row.contributor: row for row in parse_payouts(payouts.content)}
    before = await published(client)
    for key, row in rows.items():
        statement = before[key]
        assert isinstance(statement, dict)
        (month,) = statement["months"]
        assert (month["period"], month["version"]) == ("2026-08", 2)
        assert (month["payout_cents"], month["share_cents"], month["eligible_points"]) == (
            row.payout_cents,
            row.share_cents,
            row.eligible_points,
        )
    page = await client.get("/transparency/2026-08")
    assert page.status_code == 200
    for key in rows:
        assert key in page.text

    await anyio.to_thread.run_sync(lambda: migrate_to(settings, "0010"))
    await anyio.to_thread.run_sync(lambda: migrate_to(settings, "head"))
    assert await published(client) == before
