"""The database itself refuses to rewrite history, whatever the client."""

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.exc import DBAPIError

from selflink_api.settings import Settings
from tests.api.conftest import drain_jobs, make_settings
from tests.api.operator import selflink_api
from tests.api.rewards_helpers import WEBHOOK_SECRET, deliver, pr_payload
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio

APPEND_ONLY = (
    "reward_events",
    "reward_snapshots",
    "reward_bundle_rows",
    "reward_payout_transitions",
    "audit_log",
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET)


@pytest.fixture
async def history(client: AsyncTestClient[Litestar], database_url: str) -> None:
    """One event, one committed and locked month with a payout, and their audit records."""
    await deliver(client, pr_payload(1, 42, merged_at="2026-09-10T10:00:00Z"))
    await drain_jobs(client)
    for command in (
        (
            "rewards",
            "snapshot",
            "--period",
            "2026-09",
            "--revenue-cents",
            "5000",
            "--costs-cents",
            "0",
            "--commit",
        ),
        ("rewards", "lock", "--period", "2026-09", "--force"),
    ):
        outcome = await anyio.to_thread.run_sync(lambda c=command: selflink_api(database_url, *c))
        assert outcome.returncode == 0, outcome.stderr


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize(
    "statement", ["UPDATE {table} SET created_at = created_at", "DELETE FROM {table}"]
)
async def test_raw_sql_cannot_change_or_remove_rows(
    history: None, settings: Settings, table: str, statement: str
) -> None:
    (before,) = await sql(settings, f"SELECT count(*) FROM {table}")
    assert before[0] > 0
    with pytest.raises(DBAPIError, match="append-only"):
        await sql(settings, statement.format(table=table))
    assert await sql(settings, f"SELECT count(*) FROM {table}") == [before]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_truncate_is_refused_on_postgresql(history: None, settings: Settings) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        await sql(settings, "TRUNCATE reward_events CASCADE")
