"""Fifty concurrent deliveries, duplicates among them: one event per PR, a contiguous, valid chain."""

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.settings import Settings
from selflink_core.rewards import scan_ledger
from tests.api.conftest import drain_jobs, make_settings
from tests.api.rewards_helpers import WEBHOOK_SECRET, deliver, pr_payload
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio

DISTINCT_PRS = 30
DELIVERIES = 50


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET, DATABASE_POOL_SIZE=20)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_concurrent_deliveries_append_each_pull_request_once(
    client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    bodies = [pr_payload(n % DISTINCT_PRS + 1, 7000 + n % 7) for n in range(DELIVERIES)]
    replayed = {5: "delivery-3", 17: "delivery-9"}  # two exact replays of earlier deliveries
    statuses: list[int] = []

    async def send(index: int) -> None:
        delivery = replayed.get(index, f"delivery-{index}")
        response = await deliver(client, bodies[index], delivery_id=delivery)
        statuses.append(response.status_code)

    async with anyio.create_task_group() as group:
        for index in range(DELIVERIES):
            group.start_soon(send, index)
    await drain_jobs(client)

    assert statuses == [202] * DELIVERIES
    ledger = (await client.get("/api/v1/rewards/ledger.jsonl")).content
    lines = ledger.splitlines(keepends=True)
    scan = scan_ledger(lines)
    assert scan.problem is None
    assert scan.head.seq == len(lines) == DISTINCT_PRS
    seqs = [row[0] for row in await sql(settings, "SELECT seq FROM reward_events ORDER BY seq")]
    assert seqs == list(range(1, DISTINCT_PRS + 1))
    ids = {row[0] for row in await sql(settings, "SELECT event_id FROM reward_events")}
    assert ids == {f"github:pr:selflink/selflink#{n}" for n in range(1, DISTINCT_PRS + 1)}
    deliveries = await sql(
        settings, "SELECT status, count(*) FROM github_deliveries GROUP BY status ORDER BY status"
    )
    assert dict(deliveries) == {
        "appended": DISTINCT_PRS,
        "duplicate": DELIVERIES - len(replayed) - DISTINCT_PRS,
    }


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_concurrent_appends_queue_for_the_head_instead_of_failing(settings: Settings) -> None:
    """Each append in its own transaction, all at once, with no retries: every one succeeds."""
    from selflink_api.platform.database import build_sqlalchemy_config
    from selflink_api.rewards.ledger import LedgerService
    from selflink_core.rewards import EventDraft

    config = build_sqlalchemy_config(settings)
    outcomes: list[str] = []

    async def append(n: int) -> None:
        draft = EventDraft(
            id=f"manual:bounty:{n}",
            period="2026-11",
            occurred_at="2026-11-02T10:00:00Z",
            contributor=f"github:{n % 3}",
            kind="bounty",
            points=n,
            rules="manual",
        )
        try:
            async with config.get_session() as session, session.begin():
                await LedgerService(session).append(draft, appended_by="test")
            outcomes.append("ok")
        except Exception as exc:  # the assertion below reports what went wrong
            outcomes.append(type(exc).__name__)

    try:
        async with anyio.create_task_group() as group:
            for n in range(1, 21):
                group.start_soon(append, n)
    finally:
        await config.get_engine().dispose()
    assert outcomes == ["ok"] * 20
    seqs = [row[0] for row in await sql(settings, "SELECT seq FROM reward_events ORDER BY seq")]
    assert seqs == list(range(1, 21))
