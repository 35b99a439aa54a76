"""Small hand-made events for the rewards tests."""

import pytest

from selflink_core.rewards import EMPTY_LEDGER_HEAD, Event, EventDraft, LedgerHead, seal


def draft(**changes: object) -> EventDraft:
    fields: dict[str, object] = {
        "id": "github:pr:selflink/selflink#1",
        "period": "2025-01",
        "occurred_at": "2025-01-15T10:00:00Z",
        "contributor": "github:1",
        "kind": "pr_merged",
        "points": 5,
        "rules": "v1",
        "ref": "https://github.com/selflink/selflink/pull/1",
        "source_sha256": "",
        "reverses": "",
    }
    fields.update(changes)
    return EventDraft(**fields)  # type: ignore[arg-type]


def chain(*drafts: EventDraft) -> list[Event]:
    events: list[Event] = []
    head = EMPTY_LEDGER_HEAD
    for item in drafts:
        event = seal(item, head)
        events.append(event)
        head = LedgerHead(event.seq, event.hash)
    return events


@pytest.fixture
def three_events() -> list[Event]:
    return chain(
        draft(id="a", contributor="github:1", points=5),
        draft(id="b", contributor="github:2", kind="bounty", points=40),
        draft(
            id="c", contributor="github:1", kind="reversal", points=-5, reverses="a", rules="manual"
        ),
    )
