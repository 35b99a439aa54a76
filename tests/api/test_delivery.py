"""Outgoing mail through a real SMTP server, and channels on memory and Redis."""

import logging
import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import anyio
import pytest
from aiosmtpd.controller import Controller
from aiosmtplib import SMTPConnectError
from litestar.channels import ChannelsPlugin

from selflink_api.app import create_app
from selflink_api.email.jobs import DELIVERY_ATTEMPTS
from tests.api.conftest import app_client, drain_jobs, make_settings
from tests.api.people import register, remember
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the test server logs addresses
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_verification_email_is_sent_by_smtp_and_then_forgotten(
    database_url: str, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    settings = make_settings(database_url, SMTP_URL=f"smtp+plain://127.0.0.1:{port}")
    async with app_client(create_app(settings)) as client:
        person = await register(client, "mail_receiver")
        await drain_jobs(client)
    ((recipients, message),) = inbox.messages
    assert recipients == [person.email]
    assert message["Subject"] == "Confirm your SelfLink email address"
    body = message.get_payload().replace("\r\n", "\n")
    code = body.split("\n\n")[2].strip()
    remember(code)
    assert len(code) > 20
    rows = await sql(settings, "SELECT status, ciphertext, attempts FROM outbox_messages")
    assert rows == [("sent", None, 1)]


async def test_unreachable_smtp_keeps_the_message_for_a_retry(database_url: str) -> None:
    settings = make_settings(database_url, SMTP_URL=f"smtp+plain://127.0.0.1:{free_port()}")
    async with app_client(create_app(settings)) as client:
        client.app.state.job_runner.sleep = _no_wait
        await register(client, "mail_waiter")
        with pytest.RaisesGroup(*[SMTPConnectError] * DELIVERY_ATTEMPTS):
            await drain_jobs(client)
    ((status, ciphertext, attempts),) = await sql(
        settings, "SELECT status, ciphertext, attempts FROM outbox_messages"
    )
    assert (status, attempts) == ("failed", DELIVERY_ATTEMPTS)
    assert ciphertext is not None  # still deliverable by hand; deleted with the account


async def _no_wait(_seconds: float) -> None:
    return None


async def _roundtrip(channels: ChannelsPlugin) -> bytes:
    async with channels.start_subscription(["probe"]) as subscriber:
        await channels.wait_published(b"hello", ["probe"])
        with anyio.fail_after(5):
            async for event in subscriber.iter_events():
                return bytes(event)
    raise AssertionError("no event")


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_channels_deliver_published_events(
    database_url: str, backend: str, request: pytest.FixtureRequest
) -> None:
    overrides = {"REDIS_URL": request.getfixturevalue("redis_url")} if backend == "redis" else {}
    app = create_app(make_settings(database_url, **overrides))
    async with app_client(app) as client:
        channels = app.plugins.get(ChannelsPlugin)
        received = await anyio.to_thread.run_sync(client.blocking_portal.call, _roundtrip, channels)
    assert received == b"hello"
