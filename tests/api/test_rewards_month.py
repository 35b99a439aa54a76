"""An operator's month, end to end, and the acid test: anyone re-verifies it with `selflink`."""

from pathlib import Path
from typing import Any

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from typer.testing import CliRunner

from selflink_api.settings import Settings
from selflink_cli.main import app as selflink
from selflink_core.rewards import BUNDLE_FILES, check_proof, parse_proof
from tests.api.conftest import drain_jobs, make_settings
from tests.api.operator import selflink_api
from tests.api.people import Person, register
from tests.api.rewards_helpers import WEBHOOK_SECRET, deliver, pr_payload
from tests.api.test_auth import make_staff, sql

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]
ALICE, BOB, CAROL = 101, 102, 103


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET)


async def operator(database_url: str, *args: str) -> str:
    outcome = await anyio.to_thread.run_sync(lambda: selflink_api(database_url, *args))
    assert outcome.returncode == 0, outcome.stderr + outcome.stdout
    return outcome.stdout


async def ingest(client: Client, *prs: tuple[int, int, str, tuple[str, ...]]) -> None:
    for number, author, merged_at, labels in prs:
        assert (
            await deliver(client, pr_payload(number, author, merged_at=merged_at, labels=labels))
        ).status_code == 202
    await drain_jobs(client)


def root_of(stdout: str) -> str:
    return stdout.strip().splitlines()[-1].removeprefix("root: ")


async def download(client: Client, period: str, folder: Path, version: int | None = None) -> Path:
    target = folder / period
    target.mkdir(parents=True)
    for name in BUNDLE_FILES:
        params = {"version": str(version)} if version else {}
        response = await client.get(f"/api/v1/rewards/periods/{period}/files/{name}", params=params)
        assert response.status_code == 200
        (target / name).write_bytes(response.content)
    return target


async def payouts(client: Client, staff: Person, period: str) -> dict[str, dict[str, Any]]:
    listed = await client.get(
        "/api/v1/staff/rewards/payouts", params={"period": period}, headers=staff.headers
    )
    assert listed.status_code == 200
    return {p["contributor"]: p for p in listed.json()}


async def test_a_month_from_ingestion_to_payment_and_public_verification(
    client: Client, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    staff = await make_staff(client, settings)
    alice = await register(client, "alice")

    # September: three merged PRs, committed, locked; nobody is linked yet.
    await ingest(
        client,
        (1, ALICE, "2026-09-03T10:00:00Z", ("size:m",)),
        (2, BOB, "2026-09-04T10:00:00Z", ("size:l",)),
        (3, CAROL, "2026-09-05T10:00:00Z", ("size:xs",)),
    )
    dry = await operator(
        database_url,
        "rewards",
        "snapshot",
        "--period",
        "2026-09",
        "--revenue-cents",
        "100000",
        "--costs-cents",
        "20000",
    )
    assert "dry run" in dry
    committed = await operator(
        database_url,
        "rewards",
        "snapshot",
        "--period",
        "2026-09",
        "--revenue-cents",
        "100000",
        "--costs-cents",
        "20000",
        "--commit",
    )
    assert root_of(committed) == root_of(dry)
    september_root = root_of(committed)
    await operator(database_url, "rewards", "lock", "--period", "2026-09", "--force")
    september = await payouts(client, staff, "2026-09")
    assert {c: p["state"] for c, p in september.items()} == {
        "github:101": "held",
        "github:102": "held",
        "github:103": "held",
    }
    assert sum(p["amount_cents"] for p in september.values()) == 40000

    # Alice links her GitHub account; staff approve; her held payout becomes pending.
    link = await client.post(
        "/api/v1/rewards/links",
        headers=alice.headers,
        json={"github_id": ALICE, "github_login": "alice"},
    )
    assert link.status_code == 201
    approved = await client.post(
        f"/api/v1/staff/rewards/links/{link.json()['id']}/approve",
        headers=staff.headers,
        json={"note": "matched gist"},
    )
    assert approved.json()["state"] == "approved"
    assert (await payouts(client, staff, "2026-09"))["github:101"]["state"] == "pending"

    # October: alice disputes version 1, staff accept and correct it with an adjustment.
    await ingest(
        client,
        (4, ALICE, "2026-10-02T10:00:00Z", ("size:s",)),
        (5, BOB, "2026-10-03T10:00:00Z", ()),
    )
    first = await operator(
        database_url,
        "rewards",
        "snapshot",
        "--period",
        "2026-10",
        "--revenue-cents",
        "50000",
        "--costs-cents",
        "0",
        "--commit",
    )
    dispute = await client.post(
        "/api/v1/rewards/periods/2026-10/disputes",
        headers=alice.headers,
        json={"reason": "PR 4 was size:l, not size:s", "event_id": "github:pr:selflink/selflink#4"},
    )
    assert dispute.status_code == 201
    accepted = await client.post(
        f"/api/v1/staff/rewards/disputes/{dispute.json()['id']}/accept",
        headers=staff.headers,
        json={"note": "relabelled"},
    )
    assert accepted.json()["state"] == "accepted"
    adjustment = await client.post(
        "/api/v1/staff/rewards/events",
        headers=staff.headers,
        json={
            "kind": "adjustment",
            "contributor": "github:101",
            "points": 5,
            "reason": "PR 4 is size:l",
            "period": "2026-10",
        },
    )
    assert adjustment.status_code == 201, adjustment.text
    assert adjustment.json()["period"] == "2026-10"
    second = await operator(
        database_url,
        "rewards",
        "snapshot",
        "--period",
        "2026-10",
        "--revenue-cents",
        "50000",
        "--costs-cents",
        "0",
        "--commit",
    )
    assert root_of(second) != root_of(first)
    await operator(database_url, "rewards", "lock", "--period", "2026-10", "--force")
    october_root = root_of(second)

    # Paying: the allowed path, a repeated transition, and refusals.
    pending = (await payouts(client, staff, "2026-09"))["github:101"]
    url = f"/api/v1/staff/rewards/payouts/{pending['id']}/transitions"
    for step in (
        {"to": "processing", "method": "bank_transfer"},
        {"to": "paid", "external_ref": "TX-1"},
    ):
        moved = await client.post(url, headers=staff.headers, json=step)
        assert (moved.status_code, moved.json()["changed"]) == (200, True)
    again = await client.post(url, headers=staff.headers, json={"to": "paid"})
    assert (again.status_code, again.json()["changed"]) == (200, False)
    assert [t["to_state"] for t in again.json()["transitions"]] == [
        "held",
        "pending",
        "processing",
        "paid",
    ]
    backwards = await client.post(url, headers=staff.headers, json={"to": "processing"})
    assert backwards.status_code == 409
    held = (await payouts(client, staff, "2026-09"))["github:102"]
    unlinked = await client.post(
        f"/api/v1/staff/rewards/payouts/{held['id']}/transitions",
        headers=staff.headers,
        json={"to": "pending"},
    )
    assert unlinked.status_code == 409
    assert "not linked" in unlinked.json()["detail"]

    # Transparency, without signing in.
    periods = (await client.get("/api/v1/rewards/periods")).json()
    assert [(p["period"], p["state"], p["version"], p["root"]) for p in periods] == [
        ("2026-10", "locked", 2, october_root),
        ("2026-09", "locked", 1, september_root),
    ]
    detail = (await client.get("/api/v1/rewards/periods/2026-10")).json()
    assert [v["root"] for v in detail["versions"]] == [root_of(first), october_root]
    statement = (await client.get("/api/v1/rewards/contributors/github:101/statement")).json()
    assert statement["linked"] is True
    assert [(m["period"], m["payout_state"]) for m in statement["months"]] == [
        ("2026-09", "paid"),
        ("2026-10", "pending"),
    ]
    proof_bytes = (await client.get("/api/v1/rewards/periods/2026-10/proofs/github:101")).content
    assert check_proof(parse_proof(proof_bytes), expected_root=october_root).ok

    # The acid test: the public files re-verify with the contributor's own tool.
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_bytes((await client.get("/api/v1/rewards/ledger.jsonl")).content)
    october = await download(client, "2026-10", tmp_path)
    september_dir = await download(client, "2026-09", tmp_path)
    old = await download(client, "2026-10", tmp_path / "v1", version=1)
    runner = CliRunner()
    verified = runner.invoke(
        selflink,
        [
            "rewards",
            "verify",
            str(october),
            "--previous",
            str(september_dir),
            "--ledger",
            str(ledger),
            "--root",
            october_root,
        ],
    )
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip().endswith(f"2026-10, root {october_root}")
    assert (
        runner.invoke(
            selflink, ["rewards", "verify", str(september_dir), "--ledger", str(ledger)]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            selflink, ["rewards", "verify", str(old), "--previous", str(september_dir)]
        ).exit_code
        == 0
    )

    # Every step left a record in the audit log, and its chain holds.
    actions = [row[0] for row in await sql(settings, "SELECT action FROM audit_log ORDER BY seq")]
    for action in (
        "rewards.event.append",
        "rewards.snapshot.commit",
        "rewards.period.lock",
        "rewards.link.request",
        "rewards.link.approved",
        "rewards.dispute.open",
        "rewards.dispute.accepted",
        "rewards.payout.transition",
    ):
        assert action in actions
    audit = await operator(database_url, "audit", "verify")
    assert f"verified: {len(actions)} audit entries, chain intact" in audit
