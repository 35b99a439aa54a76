"""WebSocket clients of the realtime gateway, for tests against a live server."""

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from tests.api.people import Person

FRAME_SECONDS = 10
PRESENCE = "presence"


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/api/v1/realtime"


@contextlib.asynccontextmanager
async def connected(
    base_url: str, person: Person, *, via: str = "frame", tiny_buffer: bool = False
) -> AsyncIterator[ClientConnection]:
    """A connection signed in as `person` (by an `auth` frame or the subprotocol), its
    `ready` frame already read. `tiny_buffer` makes a reader the kernel cannot buffer for."""
    subprotocols: Any = (
        ["selflink.v1", f"bearer.{person.access_token}"] if via == "subprotocol" else None
    )
    sock = None
    if tiny_buffer:
        host, port = base_url.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
    async with websockets.connect(
        ws_url(base_url), subprotocols=subprotocols, sock=sock, max_size=None
    ) as ws:
        if via == "frame":
            await ws.send(json.dumps({"type": "auth", "token": person.access_token}))
        ready = await next_frame(ws)
        assert ready["type"] == "ready", ready
        yield ws


async def next_frame(ws: ClientConnection, *types: str, skip_presence: bool = True) -> Any:
    """The next frame (of one of `types`, when given), waiting at most a few seconds."""
    while True:
        async with asyncio.timeout(FRAME_SECONDS):
            frame = json.loads(await ws.recv())
        if skip_presence and frame["type"] == PRESENCE and PRESENCE not in types:
            continue
        if not types or frame["type"] in types:
            return frame


async def close_code(ws: ClientConnection) -> int:
    """Read until the server closes the connection; the code it closed with."""
    with contextlib.suppress(websockets.ConnectionClosed):
        async with asyncio.timeout(FRAME_SECONDS):
            while True:
                await ws.recv()
    assert ws.close_code is not None
    return ws.close_code
