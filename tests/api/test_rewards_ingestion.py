"""GitHub ingestion: verified, recorded once, scored by a job, never doubled, never lost."""

import hashlib
from datetime import UTC, datetime

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.app import create_app
from selflink_api.settings import Settings
from tests.api.conftest import app_client, drain_jobs, make_settings
from tests.api.operator import selflink_api
from tests.api.rewards_helpers import deliver, pr_payload
from tests.api.test_auth import make_staff, sql

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


@pytest.fixture
def settings(database_url: str) -> Settings:
    from tests.api.rewards_helpers import WEBHOOK_SECRET

    return make_settings(
        database_url, GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET, GITHUB_WEBHOOK_MAX_BYTES=4096
    )


async def ledger_lines(client: Client) -> list[bytes]:
    response = await client.get("/api/v1/rewards/ledger.jsonl")
    assert response.status_code == 200
    return response.content.splitlines(keepends=True)


async def test_a_merged_pull_request_becomes_one_event(client: Client) -> None:
    body = pr_payload(41, 583231, labels=("size:m", "bonus:security"))
    response = await deliver(client, body, delivery_id="d-41")
    assert response.status_code == 202
    assert response.json() == {"delivery": "d-41", "status": "received", "duplicate": False}
    await drain_jobs(client)
    (line,) = await ledger_lines(client)
    assert b'"id":"github:pr:selflink/selflink#41"' in line
    assert b'"contributor":"github:583231"' in line
    assert b'"points":7' in line
    assert b'"period":"2026-10"' in line
    assert f'"source_sha256":"{hashlib.sha256(body).hexdigest()}"'.encode() in line


async def test_replays_and_redeliveries_never_make_a_second_event(
    client: Client, settings: Settings
) -> None:
    body = pr_payload(42, 1001)
    first = await deliver(client, body, delivery_id="d-42")
    replay = await deliver(client, body, delivery_id="d-42")
    assert (first.status_code, replay.status_code) == (202, 202)
    assert replay.json()["duplicate"] is True
    await drain_jobs(client)
    redelivery = await deliver(client, body, delivery_id="d-42-redelivered")
    assert redelivery.status_code == 202
    await drain_jobs(client)
    assert len(await ledger_lines(client)) == 1
    statuses = await sql(
        settings, "SELECT delivery_id, status FROM github_deliveries ORDER BY delivery_id"
    )
    assert [tuple(row) for row in statuses] == [
        ("d-42", "appended"),
        ("d-42-redelivered", "duplicate"),
    ]


async def test_unmerged_and_bot_pull_requests_are_recorded_but_score_nothing(
    client: Client, settings: Settings
) -> None:
    await deliver(client, pr_payload(43, 1002, merged_at=None), delivery_id="d-43")
    await deliver(client, pr_payload(44, 1003, user_type="Bot"), delivery_id="d-44")
    await drain_jobs(client)
    assert await ledger_lines(client) == []
    outcomes = await sql(
        settings, "SELECT status, outcome FROM github_deliveries ORDER BY delivery_id"
    )
    assert [row[0] for row in outcomes] == ["ignored", "ignored"]
    assert "without being merged" in outcomes[0][1]
    assert "Bot" in outcomes[1][1]


async def test_staff_see_what_became_of_each_delivery(client: Client, settings: Settings) -> None:
    staff = await make_staff(client, settings)
    await deliver(client, pr_payload(47, 1006, labels=("size:s",)), delivery_id="d-47")
    await deliver(client, pr_payload(48, 1007, merged_at=None), delivery_id="d-48")
    await deliver(
        client, b'{"action": "closed", "pull_request": {"merged": true}}', delivery_id="d-49"
    )
    await drain_jobs(client)
    url = "/api/v1/staff/rewards/github/deliveries"

    first = (await client.get(url, params={"limit": 2}, headers=staff.headers)).json()
    rest = (
        await client.get(
            url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=staff.headers
        )
    ).json()
    assert rest["next_cursor"] is None
    seen = {item["delivery_id"]: item for item in first["items"] + rest["items"]}
    assert [item["delivery_id"] for item in first["items"] + rest["items"]] == [
        "d-49",
        "d-48",
        "d-47",
    ]
    assert (seen["d-47"]["status"], seen["d-47"]["event_seq"]) == ("appended", 1)
    assert "size:s" in seen["d-47"]["outcome"]
    assert seen["d-48"]["status"] == "ignored"
    assert seen["d-49"]["outcome"].startswith("malformed pull request")
    assert "payload" not in seen["d-49"]

    failed = (await client.get(url, params={"status": "failed"}, headers=staff.headers)).json()
    assert [item["delivery_id"] for item in failed["items"]] == ["d-49"]
    unknown = await client.get(url, params={"status": "lost"}, headers=staff.headers)
    assert unknown.status_code in (400, 422)


async def test_ping_is_answered(client: Client) -> None:
    response = await deliver(client, b'{"zen": "Keep it logically awesome."}', event="ping")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("change", "status", "kind"),
    [
        ({"secret": "a-forged-secret"}, 401, "unauthorized"),
        ({"content_type": "application/x-www-form-urlencoded"}, 415, "unsupported-media-type"),
        ({"event": "issues"}, 422, "validation-error"),
        ({"headers": {"x-github-delivery": ""}}, 400, "bad-request"),
    ],
)
async def test_bad_deliveries_get_a_precise_4xx_and_store_nothing(
    client: Client, settings: Settings, change: dict[str, object], status: int, kind: str
) -> None:
    response = await deliver(client, pr_payload(45, 1004), **change)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.json()["type"] == f"urn:selflink:problem:{kind}"
    await drain_jobs(client)
    assert await sql(settings, "SELECT count(*) FROM github_deliveries") == [(0,)]


async def test_malformed_and_oversized_payloads_are_refused(
    client: Client, settings: Settings
) -> None:
    malformed = await deliver(client, b'{"action": "closed", ')
    assert malformed.status_code == 400
    oversized = await deliver(client, pr_payload(46, 1005) + b" " * 5000)
    assert oversized.status_code == 413
    assert await sql(settings, "SELECT count(*) FROM github_deliveries") == [(0,)]


async def test_a_malformed_pull_request_is_recorded_as_failed(
    client: Client, settings: Settings
) -> None:
    response = await deliver(
        client, b'{"action": "closed", "pull_request": {"merged": true}}', delivery_id="d-bad"
    )
    assert response.status_code == 202
    await drain_jobs(client)
    assert [row[0] for row in await sql(settings, "SELECT status FROM github_deliveries")] == [
        "failed"
    ]
    assert await ledger_lines(client) == []


async def test_without_a_secret_the_endpoint_is_unavailable(database_url: str) -> None:
    async with app_client(create_app(make_settings(database_url))) as client:
        response = await deliver(client, pr_payload(47, 1006))
    assert response.status_code == 503


async def test_events_of_a_locked_month_go_to_the_next_open_month(
    client: Client, database_url: str
) -> None:
    await deliver(client, pr_payload(48, 1007, merged_at="2026-10-02T10:00:00Z"))
    await drain_jobs(client)
    for command in (
        (
            "rewards",
            "snapshot",
            "--period",
            "2026-10",
            "--revenue-cents",
            "1000",
            "--costs-cents",
            "0",
            "--commit",
        ),
        ("rewards", "lock", "--period", "2026-10", "--force"),
    ):
        outcome = await anyio.to_thread.run_sync(lambda c=command: selflink_api(database_url, *c))
        assert outcome.returncode == 0, outcome.stderr
    await deliver(client, pr_payload(49, 1007, merged_at="2026-10-30T23:59:59Z"))
    await drain_jobs(client)
    first, late = await ledger_lines(client)
    assert b'"period":"2026-10"' in first
    assert b'"period":"2026-11"' in late
    assert b'"occurred_at":"2026-10-30T23:59:59Z"' in late


SERVER_NOW = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("number", "author", "merged_at", "reason"),
    [
        (-1, 1010, "2026-10-05T12:00:00Z", "number: -1 is not a positive id"),
        (0, 1010, "2026-10-05T12:00:00Z", "number: 0 is not a positive id"),
        (10**30, 1010, "2026-10-05T12:00:00Z", "number: 1000000000000000000000000000000 is"),
        (2**53, 1010, "2026-10-05T12:00:00Z", "number: 9007199254740992 is"),
        (51, -5, "2026-10-05T12:00:00Z", "user.id: -5 is not a positive id"),
        (51, 10**30, "2026-10-05T12:00:00Z", "user.id: 1000000000000000000000000000000 is"),
        (51, 1010, "9999-12-31T23:59:59Z", "merged_at: 9999-12-31T23:59:59Z is more than a day"),
        (51, 1010, "2026-10-21T12:00:01Z", "after this server's clock (2026-10-20T12:00:00Z)"),
        (51, 1010, "0001-01-01T00:00:00Z", "merged_at: 0001-01-01T00:00:00Z is before GitHub"),
        (51, 1010, "2007-12-31T23:59:59Z", "before GitHub existed (2008)"),
    ],
)
async def test_impossible_pull_requests_never_reach_the_ledger_and_staff_see_why(
    client: Client, settings: Settings, number: int, author: int, merged_at: str, reason: str
) -> None:
    client.app.state.job_runner.clock = lambda: SERVER_NOW
    staff = await make_staff(client, settings)
    response = await deliver(client, pr_payload(number, author, merged_at=merged_at))
    assert response.status_code == 202
    await drain_jobs(client)
    assert await ledger_lines(client) == []
    url = "/api/v1/staff/rewards/github/deliveries"
    failed = (await client.get(url, params={"status": "failed"}, headers=staff.headers)).json()
    (item,) = failed["items"]
    assert item["outcome"].startswith("implausible pull request: ")
    assert reason in item["outcome"]
    assert item["event_seq"] is None


async def test_the_edges_of_plausible_pull_requests_are_appended(client: Client) -> None:
    client.app.state.job_runner.clock = lambda: SERVER_NOW
    for number, author, merged_at in [
        (1, 1, "2008-01-01T00:00:00Z"),
        (2**53 - 1, 2**53 - 1, "2026-10-21T12:00:00Z"),  # a day ahead of the server clock
    ]:
        await deliver(client, pr_payload(number, author, merged_at=merged_at))
    await drain_jobs(client)
    lines = await ledger_lines(client)
    assert len(lines) == 2
    assert b'"period":"2008-01"' in lines[0]
    assert b'"contributor":"github:9007199254740991"' in lines[1]
