"""Scheduled locking, the audit chain under attack, and account deletion vs. the ledger."""

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.jobs import JobContext
from selflink_api.rewards.jobs import lock_due_periods
from selflink_api.settings import Settings
from tests.api.conftest import drain_jobs, make_settings
from tests.api.operator import selflink_api
from tests.api.people import PASSWORD, register
from tests.api.rewards_helpers import WEBHOOK_SECRET, deliver, pr_payload
from tests.api.test_auth import make_staff, sql

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET, REWARDS_DISPUTE_DAYS=0)


async def operator(database_url: str, *args: str, **env: str) -> str:
    outcome = await anyio.to_thread.run_sync(lambda: selflink_api(database_url, *args, **env))
    assert outcome.returncode == 0, outcome.stderr + outcome.stdout
    return outcome.stdout


COMMIT_SEPTEMBER = (
    "rewards",
    "snapshot",
    "--period",
    "2026-09",
    "--revenue-cents",
    "900",
    "--costs-cents",
    "0",
    "--commit",
)


async def run_lock_schedule(client: Client, settings: Settings) -> None:
    """The hourly `rewards.lock_due_periods` job, run now."""
    config = build_sqlalchemy_config(settings)
    try:
        await lock_due_periods(
            JobContext(settings, config.create_session_maker(), client.app.state.job_runner)
        )
    finally:
        await config.get_engine().dispose()


async def test_the_schedule_locks_months_whose_window_ended(
    client: Client, settings: Settings, database_url: str
) -> None:
    await deliver(client, pr_payload(1, 55, merged_at="2026-09-02T00:00:00Z"))
    await drain_jobs(client)
    await operator(database_url, *COMMIT_SEPTEMBER, REWARDS_DISPUTE_DAYS="0")
    await run_lock_schedule(client, settings)
    assert await sql(settings, "SELECT state FROM reward_periods") == [("locked",)]
    assert await sql(settings, "SELECT amount_cents, state FROM reward_payouts") == [(450, "held")]


async def test_a_month_locks_only_with_a_version_holding_all_its_events(
    client: Client, settings: Settings, database_url: str
) -> None:
    await deliver(client, pr_payload(3, 57, merged_at="2026-09-02T00:00:00Z"))
    await drain_jobs(client)
    await operator(database_url, *COMMIT_SEPTEMBER, REWARDS_DISPUTE_DAYS="0")
    await deliver(client, pr_payload(4, 58, merged_at="2026-09-20T00:00:00Z"))  # arrives late
    await drain_jobs(client)

    await run_lock_schedule(client, settings)
    assert await sql(settings, "SELECT state FROM reward_periods") == [("disputing",)]
    refused = await anyio.to_thread.run_sync(
        lambda: selflink_api(database_url, "rewards", "lock", "--period", "2026-09", "--force")
    )
    assert refused.returncode == 2
    assert "2026-09 has 1 event newer than version 1" in refused.stderr
    assert await sql(settings, "SELECT count(*) FROM reward_payouts") == [(0,)]

    await operator(database_url, *COMMIT_SEPTEMBER, REWARDS_DISPUTE_DAYS="0")
    await run_lock_schedule(client, settings)
    assert await sql(settings, "SELECT state, current_version FROM reward_periods") == [
        ("locked", 2)
    ]
    assert sorted(await sql(settings, "SELECT contributor FROM reward_payouts")) == [
        ("github:57",),
        ("github:58",),
    ]


async def test_a_window_still_open_refuses_an_early_lock(client: Client, database_url: str) -> None:
    await deliver(client, pr_payload(2, 56, merged_at="2026-09-02T00:00:00Z"))
    await drain_jobs(client)
    await operator(database_url, *COMMIT_SEPTEMBER)
    refused = await anyio.to_thread.run_sync(
        lambda: selflink_api(database_url, "rewards", "lock", "--period", "2026-09")
    )
    assert refused.returncode == 2
    assert "dispute window of 2026-09 is open until" in refused.stderr


async def test_audit_verify_finds_the_first_altered_entry(
    client: Client, settings: Settings, database_url: str
) -> None:
    staff = await make_staff(client, settings)
    for handle in ("first", "second", "third"):
        await register(client, handle)
        await client.post(f"/api/v1/staff/users/{handle}/suspend", headers=staff.headers)
    assert "chain intact" in await operator(database_url, "audit", "verify")
    if settings.is_sqlite:
        await sql(settings, "DROP TRIGGER audit_log_no_update")
    else:
        await sql(settings, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    await sql(settings, "UPDATE audit_log SET subject = 'user:someone-else' WHERE seq = 2")
    broken = await anyio.to_thread.run_sync(lambda: selflink_api(database_url, "audit", "verify"))
    assert broken.returncode == 1
    assert "audit entry seq 2: hash does not match the entry's content" in broken.stderr


async def test_deleting_an_account_unlinks_its_contributor_but_keeps_the_ledger(
    client: Client, settings: Settings, database_url: str
) -> None:
    staff = await make_staff(client, settings)
    dana = await register(client, "dana")
    link = await client.post("/api/v1/rewards/links", headers=dana.headers, json={"github_id": 909})
    await client.post(
        f"/api/v1/staff/rewards/links/{link.json()['id']}/approve", headers=staff.headers, json={}
    )
    await deliver(client, pr_payload(3, 909, merged_at="2026-09-02T00:00:00Z"))
    await drain_jobs(client)
    await operator(
        database_url,
        "rewards",
        "snapshot",
        "--period",
        "2026-09",
        "--revenue-cents",
        "800",
        "--costs-cents",
        "0",
        "--commit",
    )
    await operator(database_url, "rewards", "lock", "--period", "2026-09", "--force")
    assert await sql(settings, "SELECT state FROM reward_payouts") == [("pending",)]

    deleted = await client.request(
        "DELETE", "/api/v1/users/me", headers=dana.headers, json={"password": PASSWORD}
    )
    assert deleted.status_code == 204
    await drain_jobs(client)

    assert await sql(
        settings, "SELECT user_id FROM reward_contributors WHERE key = 'github:909'"
    ) == [(None,)]
    assert await sql(settings, "SELECT state FROM reward_payouts") == [("held",)]
    assert await sql(settings, "SELECT count(*) FROM reward_link_requests") == [(0,)]
    ledger = (await client.get("/api/v1/rewards/ledger.jsonl")).content
    assert b'"contributor":"github:909"' in ledger
    statement = (await client.get("/api/v1/rewards/contributors/github:909/statement")).json()
    assert statement["linked"] is False


async def test_a_locked_month_takes_no_new_version_and_no_dispute(
    client: Client, settings: Settings, database_url: str
) -> None:
    staff = await make_staff(client, settings)
    erin = await register(client, "erin")
    link = await client.post("/api/v1/rewards/links", headers=erin.headers, json={"github_id": 77})
    await client.post(
        f"/api/v1/staff/rewards/links/{link.json()['id']}/approve", headers=staff.headers, json={}
    )
    await deliver(client, pr_payload(4, 77, merged_at="2026-09-02T00:00:00Z"))
    await drain_jobs(client)
    figures = ("--period", "2026-09", "--revenue-cents", "800", "--costs-cents", "0")
    await operator(database_url, "rewards", "snapshot", *figures, "--commit")
    await operator(database_url, "rewards", "lock", "--period", "2026-09", "--force")
    again = await anyio.to_thread.run_sync(
        lambda: selflink_api(database_url, "rewards", "snapshot", *figures, "--commit")
    )
    assert again.returncode == 2
    assert "2026-09 is locked" in again.stderr
    relock = await anyio.to_thread.run_sync(
        lambda: selflink_api(database_url, "rewards", "lock", "--period", "2026-09")
    )
    assert relock.returncode == 2
    dispute = await client.post(
        "/api/v1/rewards/periods/2026-09/disputes",
        headers=erin.headers,
        json={"reason": "too late?"},
    )
    assert dispute.status_code == 409
    assert "locked" in dispute.json()["detail"]
    november_first = await anyio.to_thread.run_sync(
        lambda: selflink_api(
            database_url,
            "rewards",
            "snapshot",
            "--period",
            "2026-11",
            "--revenue-cents",
            "1",
            "--costs-cents",
            "0",
        )
    )
    assert november_first.returncode == 2
    assert "Commit and lock 2026-10 before 2026-11" in november_first.stderr
