"""The mentor on a real `selflink-api demo` server: a client that hangs up mid-reply still
leaves the whole reply stored."""

import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.people import PASSWORD, remember, unique_email
from tests.chat_completions import DEFAULT_REPLY
from tests.servers import chat_completions_server, demo_server

POLL_SECONDS = 60


def test_a_reply_is_stored_whole_when_the_client_disconnects(tmp_path: Path) -> None:
    with (
        chat_completions_server(tmp_path, chunk_delay=0.2) as upstream,
        demo_server(
            tmp_path,
            MENTOR_PROVIDER="openai",
            MENTOR_BASE_URL=upstream.base_url,
            MENTOR_MODEL="local-test-model",
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        email = unique_email("leaver")
        registered = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        token = registered.json()["session"]["access_token"]
        remember(email, token)
        headers = {"Authorization": f"Bearer {token}"}
        received: list[str] = []
        with client.stream(
            "POST", "/api/v1/mentor/stream", headers=headers, json={"mode": "chat", "text": "hi"}
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                received.append(line)
                if line == "event: token":
                    break  # hang up after the first token
        start = next(line for line in received if line.startswith('data: {"message_id"'))
        message_id = start.split('"message_id":"')[1].split('"')[0]
        meanwhile = client.get(f"/api/v1/mentor/messages/{message_id}", headers=headers)
        assert meanwhile.json()["status"] == "pending"  # the client left before the end
        stored = wait_for_reply(client, headers, message_id)
        assert stored["status"] == "complete"
        assert stored["text"] == DEFAULT_REPLY
        assert stored["completion_tokens"] == len(DEFAULT_REPLY.split())


def wait_for_reply(client: httpx.Client, headers: dict[str, str], message_id: str) -> Any:
    """Poll the message like a client would, until the reply is no longer pending."""
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        response = client.get(f"/api/v1/mentor/messages/{message_id}", headers=headers)
        assert response.status_code == 200, response.text
        if response.json()["status"] != "pending" or time.monotonic() > deadline:
            return response.json()
        time.sleep(0.1)
