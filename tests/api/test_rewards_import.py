"""`selflink-api rewards import-ledger`: a ledger file moved in whole, or extending the head;
anything that would not verify is refused and nothing is stored."""

import json
from pathlib import Path

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.settings import Settings
from selflink_core.rewards import EMPTY_LEDGER_HEAD, Event, EventDraft, LedgerHead, seal
from tests.api.operator import Outcome, selflink_api
from tests.api.people import register
from tests.api.test_auth import make_staff, sql

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


def ledger(count: int, *, salt: str = "") -> list[Event]:
    """`count` sealed events over two months and three contributors, the last a reversal."""
    events: list[Event] = []
    head = EMPTY_LEDGER_HEAD
    for number in range(1, count + 1):
        reversal = number == count and count > 1
        draft = EventDraft(
            id=f"import:{salt}{number}",
            period="2026-08" if number % 2 else "2026-09",
            occurred_at=f"2026-08-{number % 28 + 1:02d}T10:00:00Z",
            contributor=f"github:{events[0].contributor[7:] if reversal else 100 + number % 3}",
            kind="reversal" if reversal else "pr_merged",
            points=-events[0].points if reversal else number % 5 + 1,
            rules="v1",
            ref="réf ✓" if number == 2 else "",
            reverses=events[0].id if reversal else "",
        )
        event = seal(draft, head)
        events.append(event)
        head = LedgerHead(event.seq, event.hash)
    return events


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def lines_of(events: list[Event]) -> list[bytes]:
    return [event.line() for event in events]


async def run(database_url: str, *args: str) -> Outcome:
    return await anyio.to_thread.run_sync(lambda: selflink_api(database_url, *args))


async def import_ledger(database_url: str, path: Path, staff: str = "staffer") -> Outcome:
    return await run(database_url, "rewards", "import-ledger", str(path), "--staff", staff)


async def stored_ledger(client: Client) -> bytes:
    response = await client.get("/api/v1/rewards/ledger.jsonl")
    assert response.status_code == 200
    return response.content


async def test_a_ledger_file_is_imported_whole_with_its_audit_records(
    client: Client, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    staff = await make_staff(client, settings)
    events = ledger(7)
    file = write(tmp_path / "ledger.jsonl", lines_of(events))
    imported = await import_ledger(database_url, file)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == (
        f"imported 7 events from {file}; head seq 7 hash {events[-1].hash}"
    )
    assert await stored_ledger(client) == file.read_bytes()
    audited = await sql(
        settings,
        "SELECT subject, actor, details FROM audit_log WHERE action = 'rewards.event.append' "
        "ORDER BY seq",
    )
    assert [subject for subject, _, _ in audited] == [f"event:{e.id}" for e in events]
    staff_id = (await client.get("/api/v1/users/me", headers=staff.headers)).json()["id"]
    assert {actor for _, actor, _ in audited} == {f"user:{staff_id}"}
    details = audited[-1][2]
    assert (json.loads(details) if isinstance(details, str) else details) == {
        "seq": 7,
        "kind": "reversal",
        "points": -events[0].points,
        "by": f"user:{staff_id}",
        "reason": "import-ledger",
    }
    contributors = await sql(settings, "SELECT key FROM reward_contributors ORDER BY key")
    assert [key for (key,) in contributors] == ["github:100", "github:101", "github:102"]
    verified = await run(database_url, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    # the imported events behave as appended ones: the month's bundle counts them
    statement = await client.get("/api/v1/rewards/contributors/github:101/statement")
    assert [e["seq"] for e in statement.json()["events"]] == [1, 4, 7]


async def test_a_file_extending_the_head_appends_only_what_is_new(
    client: Client, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    await make_staff(client, settings)
    events = ledger(9)
    first = write(tmp_path / "first.jsonl", lines_of(events[:4]))
    assert (await import_ledger(database_url, first)).returncode == 0
    whole = write(tmp_path / "whole.jsonl", lines_of(events[:6]))
    extended = await import_ledger(database_url, whole)
    assert extended.returncode == 0, extended.stderr
    assert extended.stdout.startswith(f"imported 2 events from {whole}; head seq 6 ")
    rest = write(tmp_path / "rest.jsonl", lines_of(events[6:]))
    continued = await import_ledger(database_url, rest)
    assert continued.returncode == 0, continued.stderr
    assert continued.stdout.startswith(f"imported 3 events from {rest}; head seq 9 ")
    assert await stored_ledger(client) == b"".join(lines_of(events))
    again = await import_ledger(database_url, write(tmp_path / "all.jsonl", lines_of(events)))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("nothing to import")
    assert await refused(database_url, whole) == (
        f"error: {whole} ends at line 6, before the stored ledger's head seq 9: it does not "
        "extend the stored ledger; nothing imported"
    )
    count = await sql(settings, "SELECT count(*) FROM audit_log")
    assert count == [(9,)]


async def refused(database_url: str, file: Path, staff: str = "staffer") -> str:
    outcome = await import_ledger(database_url, file, staff)
    assert outcome.returncode == 2, outcome.stdout + outcome.stderr
    assert "Traceback" not in outcome.stderr
    errors = outcome.stderr.splitlines()
    assert len(errors) == 1
    return errors[0]


async def test_a_gap_a_bad_hash_or_a_file_that_does_not_extend_the_head_is_refused(
    client: Client, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    await make_staff(client, settings)
    events = lines_of(ledger(6))
    gap = write(tmp_path / "gap.jsonl", events[:2] + events[3:])
    assert await refused(database_url, gap) == (
        f"error: {gap} line 3 (seq 4): seq: expected 3 (one more than the line before), "
        "found 4; nothing imported"
    )
    tampered = events[4].replace(b'"ref":""', b'"ref":"x"')
    assert tampered != events[4]
    bad_hash = write(tmp_path / "bad.jsonl", [*events[:4], tampered, events[5]])
    message = await refused(database_url, bad_hash)
    assert message.startswith(f"error: {bad_hash} line 5 (seq 5): hash: does not match")
    assert await stored_ledger(client) == b""

    assert (
        await import_ledger(database_url, write(tmp_path / "a.jsonl", events[:3]))
    ).returncode == 0
    other = write(tmp_path / "other.jsonl", lines_of(ledger(5, salt="other-")))
    assert await refused(database_url, other) == (
        f"error: {other} line 1 differs from the stored ledger's seq 1: the file does not "
        "extend the stored ledger (head seq 3); nothing imported"
    )
    skipping = write(tmp_path / "skipping.jsonl", events[4:])
    message = await refused(database_url, skipping)
    assert message.startswith(f"error: {skipping} does not extend the stored ledger (head seq 3,")
    assert message.endswith("its first line must be seq 1 or seq 4; nothing imported")
    foreign = lines_of(ledger(6, salt="x-"))
    after_other_head = write(tmp_path / "foreign.jsonl", foreign[3:])
    message = await refused(database_url, after_other_head)
    assert message.startswith(f"error: {after_other_head} line 1 (seq 4): prev: must be the hash")
    assert await stored_ledger(client) == b"".join(events[:3])
    assert await sql(settings, "SELECT count(*) FROM audit_log") == [(3,)]


async def test_duplicate_ids_across_the_stored_ledger_and_the_file_are_refused(
    client: Client, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    await make_staff(client, settings)
    events = ledger(3)
    assert (
        await import_ledger(database_url, write(tmp_path / "a.jsonl", lines_of(events)))
    ).returncode == 0
    again = seal(events[0].draft, LedgerHead(events[-1].seq, events[-1].hash))
    message = await refused(database_url, write(tmp_path / "dup.jsonl", [again.line()]))
    assert message.endswith(
        f"line 1 (seq 4): id: {events[0].id!r} is already used by seq 1; nothing imported"
    )


async def test_only_active_staff_may_import(
    client: Client, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    await register(client, "someone")
    file = write(tmp_path / "ledger.jsonl", lines_of(ledger(2)))
    assert await refused(database_url, file, "someone") == (
        "error: --staff: @someone is not an active staff or admin account"
    )
    assert await refused(database_url, file, "nobody") == "error: No user @nobody."
    await make_staff(client, settings)
    missing = tmp_path / "missing.jsonl"
    assert await refused(database_url, missing) == (
        f"error: cannot read {missing}: No such file or directory; nothing imported"
    )
    assert await stored_ledger(client) == b""


async def test_audit_verify_finds_altered_details_of_imported_events(
    client: Client, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    """The audit records of an import are read back as stored text and re-hashed."""
    await make_staff(client, settings)
    file = write(tmp_path / "ledger.jsonl", lines_of(ledger(5)))
    assert (await import_ledger(database_url, file)).returncode == 0
    if settings.is_sqlite:
        await sql(settings, "DROP TRIGGER audit_log_no_update")
        altered = "json_set(details, '$.points', 99)"
    else:
        await sql(settings, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        altered = "jsonb_set(details, '{points}', '99')"
    await sql(settings, f"UPDATE audit_log SET details = {altered} WHERE seq = 4")
    broken = await run(database_url, "audit", "verify")
    assert broken.returncode == 1
    assert broken.stderr == (
        "verification failed: audit entry seq 4: hash does not match the entry's content\n"
    )
