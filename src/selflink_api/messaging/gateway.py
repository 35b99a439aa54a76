"""The realtime gateway: one WebSocket per device at `/api/v1/realtime` (docs/messaging.md).

The client proves who it is with an access token, in the subprotocol list
(`selflink.v1, bearer.<token>`) or in a first `auth` frame, never in the URL. The server then
files the connection under its person; it receives what was addressed to that person when it
was published (`platform/realtime.py`), so a connection never chooses what it hears. Client
frames are few (`auth`, `typing`, `heartbeat`), each checked against the database; anything
else gets an error frame, and too many of those, or one oversized frame, close the connection.
Events wait in a bounded inbox: a client that falls that far behind is told to resync and
disconnected, so memory never grows with a slow reader.
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio
import msgspec
import structlog
from litestar import Controller, WebSocket, websocket
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.auth import ANONYMOUS_ALLOWED, check_access_token
from selflink_api.accounts.services import Principal
from selflink_api.messaging.services import MessagingService, MessagingToolkit
from selflink_api.platform.database import reading
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.problems import ProblemError
from selflink_api.platform.realtime import EVENT_VERSION, Inbox

logger = structlog.get_logger("selflink.realtime")

SUBPROTOCOL = "selflink.v1"
BEARER_PREFIX = "bearer."
TYPING_FRAMES_EVERY_SECONDS = 1.0
"""A thread's typing frames closer together than this are ignored (no error)."""


class CloseCode:
    """Why the server closed a connection (docs/messaging.md lists what a client should do)."""

    NOT_AUTHENTICATED = 4001
    """No valid token in time: sign in and reconnect."""
    SESSION_ENDED = 4003
    """The session was revoked or the account suspended or closed: sign in again."""
    TOKEN_EXPIRED = 4008
    """The access token expired without an `auth` frame renewing it: refresh and reconnect."""
    RESYNC = 4010
    """The client fell too far behind: reconnect, then catch up with `GET …/changes`."""
    POLICY = 1008
    """Too many frames the server could not accept."""
    TOO_BIG = 1009
    """A frame larger than the limit."""


class _ClosingError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _frame(frame_type: str, data: Any) -> str:
    return msgspec.json.encode({"type": frame_type, "v": EVENT_VERSION, "data": data}).decode()


def _token_from_subprotocols(offered: list[str]) -> str | None:
    for name in offered:
        if name.startswith(BEARER_PREFIX):
            return name.removeprefix(BEARER_PREFIX)
    return None


@dataclass
class Connection:
    """One authenticated socket and its tasks."""

    socket: WebSocket[Any, Any, Any]
    toolkit: MessagingToolkit
    session_maker: Callable[[], AsyncSession]
    principal: Principal
    expires_at: datetime
    inbox: Inbox
    bad_frames: int = 0
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_typing: dict[UUID, float] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the sign-in ended (by the session watch) or the token was renewed."""
    renewed: bool = False
    connection_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """This connection's name in the presence state."""

    async def send(self, frame_type: str, data: Any) -> None:
        async with self.send_lock:
            await self.socket.send_text(_frame(frame_type, data))

    async def run(self) -> None:
        """Greet, mark the person online, then serve until one task closes the connection."""
        await self.send(
            "ready",
            {"handle": self.principal.handle, "expires_at": self.expires_at.isoformat()},
        )
        await self._heartbeat()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._deliver)
            tasks.start_soon(self._watch_inbox)
            tasks.start_soon(self._watch_session)
            tasks.start_soon(self._receive)

    async def _deliver(self) -> None:
        frames = self.inbox.frames
        while True:
            frame = await frames.get()
            async with self.send_lock:
                await self.socket.send_text(frame)

    async def _watch_inbox(self) -> None:
        await self.inbox.behind.wait()
        raise _ClosingError(CloseCode.RESYNC, "too far behind: resync")

    async def _watch_session(self) -> None:
        """Close when the token expires or the sign-in ends (checked with every other
        connection of this process by the toolkit's `SessionWatch`); an `auth` frame wakes
        this up to watch the renewed token's sign-in until its new expiry."""
        watch = self.toolkit.session_watch
        while True:
            left = (self.expires_at - datetime.now(UTC)).total_seconds()
            if left <= 0:
                raise _ClosingError(CloseCode.TOKEN_EXPIRED, "token expired")
            self.wake, self.renewed = asyncio.Event(), False
            with watch.watching(self.principal.session_id, self.session_maker, self.wake):
                with anyio.move_on_after(left):
                    await self.wake.wait()
            if self.wake.is_set() and not self.renewed:
                raise _ClosingError(CloseCode.SESSION_ENDED, "session ended")

    async def _receive(self) -> None:
        limit = self.toolkit.settings.realtime_max_frame_bytes
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                raise _ClosingError(0, "client left")
            raw = message.get("text")
            if not isinstance(raw, str):
                await self._refuse("binary", "Frames are JSON text.")
                continue
            if len(raw.encode()) > limit:
                raise _ClosingError(CloseCode.TOO_BIG, f"frames are at most {limit} bytes")
            try:
                frame = msgspec.json.decode(raw)
            except msgspec.DecodeError:
                await self._refuse("malformed", "A frame is one JSON object.")
                continue
            if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                await self._refuse("malformed", "A frame is a JSON object with a `type`.")
                continue
            await self._handle(frame)

    async def _refuse(self, code: str, detail: str) -> None:
        self.bad_frames += 1
        await self.send("error", {"code": code, "detail": detail})
        if self.bad_frames > self.toolkit.settings.realtime_bad_frames_allowed:
            raise _ClosingError(CloseCode.POLICY, "too many frames refused")

    async def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "heartbeat":
            await self._heartbeat()
            await self.send("heartbeat.ack", {})
        elif kind == "typing":
            await self._typing(frame.get("thread_id"))
        elif kind == "auth":
            await self._renew(frame.get("token"))
        else:
            await self._refuse("unknown_type", "Frame types: auth, typing, heartbeat.")

    async def _renew(self, token: Any) -> None:
        if not isinstance(token, str) or len(token) > 4096:
            await self._refuse("malformed", "An auth frame holds a `token`.")
            return
        checked = await check_access_token(token, self.toolkit.settings, self.session_maker)
        if checked.principal is None or checked.principal.id != self.principal.id:
            raise _ClosingError(CloseCode.NOT_AUTHENTICATED, "not a valid token for this person")
        self.principal = checked.principal
        self.expires_at = checked.expires_at or self.expires_at
        self.renewed = True
        self.wake.set()
        await self.send("auth.ok", {"expires_at": self.expires_at.isoformat()})

    async def _typing(self, raw_thread_id: Any) -> None:
        try:
            thread_id = UUID(str(raw_thread_id))
        except ValueError:
            await self._refuse("malformed", "A typing frame holds a `thread_id`.")
            return
        now = time.monotonic()
        if now - self.last_typing.get(thread_id, -TYPING_FRAMES_EVERY_SECONDS) < (
            TYPING_FRAMES_EVERY_SECONDS
        ):
            return
        self.last_typing[thread_id] = now
        try:
            async with self.session_maker() as session:
                await self._service(session).typing(self.principal.id, thread_id)
        except ProblemError:
            await self._refuse("not_found", "No such thread.")

    async def _heartbeat(self) -> None:
        if await self.toolkit.state.seen(self.principal.id, self.connection_id):
            await self._announce(online=True)

    async def leave(self) -> None:
        """The connection closed: when it was the person's last one, they are offline."""
        if await self.toolkit.state.gone(self.principal.id, self.connection_id):
            await self._announce(online=False)

    async def _announce(self, *, online: bool) -> None:
        """Tell the people sharing a thread with the person that they came or went."""
        with reading():
            async with self.session_maker() as session:
                contacts = await self._service(session).contacts(self.principal.id)
        self.toolkit.realtime.send_now(
            contacts, "presence", {"handle": self.principal.handle, "online": online}
        )

    def _service(self, session: AsyncSession) -> MessagingService:
        matching = self.socket.app.state.matching
        return MessagingService(session, self.toolkit, matching, JobQueue(_NoJobs()))


class _NoJobs:
    """Frames change nothing stored, so they never enqueue jobs nor announce events."""

    async def submit(self, *_: Any) -> None:  # pragma: no cover - never called
        msg = "realtime frames enqueue no jobs"
        raise RuntimeError(msg)

    async def announce(self, *_: Any) -> None:  # pragma: no cover - never called
        msg = "realtime frames announce no events"
        raise RuntimeError(msg)


async def _authenticate(
    socket: WebSocket[Any, Any, Any],
    toolkit: MessagingToolkit,
    session_maker: Callable[[], AsyncSession],
) -> tuple[Principal, datetime]:
    offered: list[str] = list(socket.scope.get("subprotocols") or [])
    token = _token_from_subprotocols(offered)
    await socket.accept(subprotocols=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    if token is None:
        with anyio.move_on_after(toolkit.settings.realtime_auth_seconds):
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                raise _ClosingError(0, "client left")
            raw = message.get("text")
            if isinstance(raw, str) and len(raw) <= toolkit.settings.realtime_max_frame_bytes:
                with contextlib.suppress(msgspec.DecodeError):
                    frame = msgspec.json.decode(raw)
                    if isinstance(frame, dict) and frame.get("type") == "auth":
                        token = frame.get("token") if isinstance(frame.get("token"), str) else None
    if token is None:
        raise _ClosingError(CloseCode.NOT_AUTHENTICATED, "send an auth frame first")
    checked = await check_access_token(token, toolkit.settings, session_maker)
    if checked.refusal == "suspended":
        raise _ClosingError(CloseCode.SESSION_ENDED, "account suspended")
    if checked.principal is None or checked.expires_at is None:
        raise _ClosingError(CloseCode.NOT_AUTHENTICATED, "not a valid access token")
    return checked.principal, checked.expires_at


async def _leave_quietly(connection: Connection) -> None:
    """Announce the leaving unless the state or database is away (its presence then lapses
    within a minute, unannounced); never stalls the close."""
    try:
        with anyio.CancelScope(shield=True), anyio.fail_after(5):
            await connection.leave()
    except Exception as error:  # a closing socket has no one to tell
        logger.warning("presence_not_announced", error=type(error).__name__)


class RealtimeController(Controller):
    path = "/realtime"
    tags = ["messaging"]  # noqa: RUF012

    @websocket("", opt={ANONYMOUS_ALLOWED: True})
    async def connect(self, socket: WebSocket[Any, Any, Any]) -> None:
        toolkit: MessagingToolkit = socket.app.state.messaging
        session_maker = socket.app.state.session_maker
        try:
            principal, expires_at = await _authenticate(socket, toolkit, session_maker)
            inbox = Inbox(toolkit.settings.realtime_queue_limit)
            with toolkit.realtime.connections.connected(principal.id, inbox):
                connection = Connection(
                    socket, toolkit, session_maker, principal, expires_at, inbox
                )
                try:
                    await connection.run()
                finally:
                    await _leave_quietly(connection)
        except* _ClosingError as group:
            closed = group.exceptions[0]
            assert isinstance(closed, _ClosingError)
            if closed.code:
                with contextlib.suppress(Exception):
                    await socket.close(code=closed.code, reason=closed.reason)
