"""Asking the mentor through HTTP, and reading its server-sent events."""

import json
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from tests.api.astro_helpers import Client
from tests.api.people import Person

if TYPE_CHECKING:
    from selflink_api.mentor.replies import Replies

STREAM = "/api/v1/mentor/stream"
REPLIES = "/api/v1/mentor/replies"
MESSAGES = "/api/v1/mentor/messages"
ADA_BIRTH = {
    "date": "1990-05-17",
    "time": "14:30",
    "place": "Berlin",
    "country": "DE",
}

Event = tuple[str, dict[str, Any]]


def sse_events(body: str) -> list[Event]:
    """The (event, data) pairs of a text/event-stream body."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
        if name is not None:
            events.append((name, json.loads("\n".join(data))))
    return events


def streamed_text(events: list[Event]) -> str:
    return "".join(data["text"] for name, data in events if name == "token")


async def ask(
    client: Client | httpx.AsyncClient,
    person: Person,
    text: str = "",
    *,
    mode: str = "chat",
    expect: int = 200,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> list[Event]:
    """Ask over SSE; the events, after checking the status (and the names' order on 200)."""
    response = await client.post(
        STREAM,
        headers={**person.headers, **(headers or {})},
        json={"mode": mode, "text": text, **fields},
    )
    assert response.status_code == expect, response.text
    if expect != 200:
        return [("problem", response.json())]
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "start", names
    assert names[-1] in {"end", "error"}, names
    assert set(names[1:-1]) <= {"token"}, names
    return events


async def message(client: Client | httpx.AsyncClient, person: Person, message_id: str) -> Any:
    response = await client.get(f"{MESSAGES}/{message_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def replies_idle(client: Client) -> None:
    """Wait until the replies written in the app's process are stored."""
    replies: Replies = client.app.state.mentor
    await anyio.to_thread.run_sync(client.blocking_portal.call, replies.wait_idle)
