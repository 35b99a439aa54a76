"""Request plumbing: request ids, the access log, client addresses, the request's commit and
post-commit jobs."""

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.common import (
    SESSION_TERMINUS_ASGI_EVENTS,
)
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.platform.database import AUDITED_READ, reading_only
from selflink_api.platform.jobs import JobQueue, JobRunner, current_job_queue
from selflink_api.platform.logging import bind_request_context, clear_request_context
from selflink_api.platform.problems import (
    CONFLICT,
    INTERNAL,
    PROBLEM_JSON,
    RETRY_UNAVAILABLE_SECONDS,
    UNAVAILABLE,
    ProblemKind,
    problem_document,
    unreachable,
)

if TYPE_CHECKING:
    from litestar.config.app import AppConfig
    from litestar.connection import ASGIConnection
    from litestar.types import (
        ASGIApp,
        HTTPResponseStartEvent,
        Message,
        Receive,
        Scope,
        Send,
    )

logger = structlog.get_logger("selflink.http")

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
TrustedNetworks = Sequence[IPv4Network | IPv6Network]
UNKNOWN_CLIENT = "unknown"


def client_ip_from(peer: str | None, forwarded_for: str | None, trusted: TrustedNetworks) -> str:
    """The client address, believing `X-Forwarded-For` only as far as trusted proxies vouch.

    Walks the header from the right (the hop nearest to us) and returns the first address that
    is not one of our proxies; a peer outside the trusted list is the client itself. The answer
    is always a parsed IP address or "unknown", never text a client wrote, since it keys rate
    limits and is logged.
    """
    peer_address = _parse_ip(peer)
    if peer_address is None:
        return UNKNOWN_CLIENT
    if not _is_trusted(peer_address, trusted) or not forwarded_for:
        return str(peer_address)
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    client = peer_address
    for hop in reversed(hops):
        hop_address = _parse_ip(hop)
        if hop_address is None:
            break
        client = hop_address
        if not _is_trusted(hop_address, trusted):
            break
    return str(client)


def _parse_ip(value: str | None) -> IPv4Address | IPv6Address | None:
    if not value:
        return None
    try:
        return ip_address(value)
    except ValueError:
        return None


def _is_trusted(address: IPv4Address | IPv6Address, trusted: TrustedNetworks) -> bool:
    return any(address in network for network in trusted)


def client_ip(connection: "ASGIConnection[Any, Any, Any, Any]") -> str:
    """The client address of a request, as resolved once by `RequestContextMiddleware`."""
    state = connection.scope.get("state", {})
    resolved = state.get("client_ip")
    return str(resolved) if resolved else UNKNOWN_CLIENT


async def serve_with_request_context(
    app: "ASGIApp",
    scope: "Scope",
    receive: "Receive",
    send: "Send",
    *,
    trusted_proxies: TrustedNetworks,
    job_runner: JobRunner,
    request_sessions: "RequestSessions",
) -> None:
    """Serve one HTTP request with an id, one access-log line and post-commit job submission.

    It wraps the whole application (not a route), so unknown routes, wrong methods and
    oversized bodies get a request id and a log line too. The access line holds method, path,
    status, duration and client address: never the query string, headers or bodies, which may
    carry tokens or personal data. Jobs enqueued by the request are submitted only when the
    response succeeded, which is when the request's transaction committed.
    """
    headers = dict(scope.get("headers", ()))
    offered = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
    request_id = offered if _VALID_REQUEST_ID.match(offered) else uuid.uuid4().hex
    peer = scope.get("client")
    forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1") or None
    ip = client_ip_from(peer[0] if peer else None, forwarded, trusted_proxies)
    state = scope.setdefault("state", {})
    state["request_id"] = request_id
    state["client_ip"] = ip
    jobs = JobQueue(job_runner)
    token = current_job_queue.set(jobs)
    reading = reading_only.set(scope.get("method") in {"GET", "HEAD"})
    bind_request_context(request_id=request_id)
    status = 500
    started = time.perf_counter()

    async def send_with_request_id(message: "Message") -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
        await send(message)

    try:
        await app(scope, receive, send_with_request_id)
    finally:
        await request_sessions.close_left_open(scope)
        current_job_queue.reset(token)
        reading_only.reset(reading)
        logger.info(
            "request",
            method=scope.get("method"),
            path=scope.get("path"),
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            client_ip=ip,
        )
        clear_request_context()
    if status < 400:
        await jobs.flush()
    else:
        jobs.discard()


class AuditedReadsWrite(ASGIMiddleware):
    """A GET whose route has the `AUDITED_READ` opt opens its transaction as a writer.

    It must run before authentication, whose sign-in check is a GET's first statement."""

    scopes = (ScopeType.HTTP,)

    async def handle(
        self, scope: "Scope", receive: "Receive", send: "Send", next_app: "ASGIApp"
    ) -> None:
        if scope["route_handler"].opt.get(AUDITED_READ):
            reading_only.set(
                False
            )  # reset with the request's context in serve_with_request_context
        await next_app(scope, receive, send)


def audited_reads_write_first(app_config: "AppConfig") -> "AppConfig":
    """An `on_app_init` hook, listed after authentication's, that puts `AuditedReadsWrite` first."""
    app_config.middleware.insert(0, AuditedReadsWrite())
    return app_config


_UNCOMMITTED = "selflink_uncommitted"
"""Scope state: the problem answered instead, once a request's commit failed."""
KEPT_ON_A_PROBLEM = (b"ratelimit-", b"access-control-", b"vary")
"""Headers of the handler's answer that a problem replacing it keeps (a browser on an allowed
origin must be able to read the problem)."""


class RequestSessions:
    """How each request's database session ends.

    `before_send` is the `before_send` hook: when the answer starts, a successful (2xx) request
    that may write commits before any byte leaves, anything else rolls back, and the session
    closes. A GET or HEAD (`reading_only`) writes nothing on the request path (a test checks
    every route), so it skips the commit: on a signed-in read that was a tenth of the request.

    If the commit fails, the client is not told its change was stored (advanced-alchemy's own
    `autocommit` hook logs such a failure and sends the 2xx anyway): the answer becomes a
    problem document, keeping only the headers in `KEPT_ON_A_PROBLEM`. 503 with `Retry-After`
    while the database is unreachable, 409 for a conflict, else 500. The changes are flushed
    first: a failure there stored nothing for certain; a connection lost during `COMMIT` itself
    leaves the outcome unknown, and the problem's `detail` says so."""

    def __init__(self, session_scope_key: str) -> None:
        self._key = session_scope_key

    async def before_send(self, message: "Message", scope: "Scope") -> None:
        problem: bytes | None = scope.get("state", {}).get(_UNCOMMITTED)
        if problem is not None:  # the body of an answer whose commit failed
            if message["type"] == "http.response.body":
                message["body"], problem = problem, b""
                scope["state"][_UNCOMMITTED] = problem  # later chunks of a stream send nothing
            return
        ending = message["type"] in SESSION_TERMINUS_ASGI_EVENTS
        session: AsyncSession | None = get_aa_scope_state(scope, self._key, pop=ending)
        if session is None:
            return
        try:
            if message["type"] == "http.response.start":
                if not 200 <= message["status"] < 300:
                    await _quietly("session_rollback_failed", session.rollback)
                elif not reading_only.get():
                    await _commit_or_answer_problem(session, message, scope)
        finally:
            if ending:
                await _quietly("session_close_failed", session.close)

    async def close_left_open(self, scope: "Scope") -> None:
        """Close a session whose request ended without starting an answer (cancelled, or an
        error handler that failed), so its connection (and SQLite writer's turn) is returned."""
        session: AsyncSession | None = get_aa_scope_state(scope, self._key, pop=True)
        if session is not None:
            await _quietly("session_close_failed", session.close)


async def _quietly(event: str, step: "Callable[[], Awaitable[None]]") -> None:
    """Roll back or close; a connection already lost (the database restarting) must not turn
    an answer already decided into a bare 500, and closing returns the connection anyway."""
    try:
        await step()
    except Exception as exc:
        logger.warning(event, error=type(exc).__name__)


async def _commit_or_answer_problem(
    session: AsyncSession, start: "HTTPResponseStartEvent", scope: "Scope"
) -> None:
    committing = False
    try:
        await session.flush()
        committing = True
        await session.commit()
    except Exception as exc:  # the session closes next, which rolls back
        kind = _uncommitted_kind(exc, scope)
        stored_maybe = committing and kind is not CONFLICT
        detail = (
            "The change may not have been stored: the database did not confirm it. "
            "Check before repeating it."
            if stored_maybe
            else "The change could not be stored; nothing was saved."
        )
        encoded = msgspec.json.encode(problem_document(kind, detail, scope))
        kept = [
            (name, value)
            for name, value in start.get("headers", ())
            if name.lower().startswith(KEPT_ON_A_PROBLEM)
        ]
        kept += [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(encoded)).encode()),
        ]
        if kind is UNAVAILABLE:
            kept.append((b"retry-after", RETRY_UNAVAILABLE_SECONDS.encode()))
        start["status"], start["headers"] = kind.status, kept
        scope.setdefault("state", {})[_UNCOMMITTED] = encoded


def _uncommitted_kind(exc: Exception, scope: "Scope") -> ProblemKind:
    if unreachable(exc):
        logger.warning("commit_failed", error=type(exc).__name__, path=scope.get("path"))
        return UNAVAILABLE
    if isinstance(exc, IntegrityError):
        logger.warning("commit_conflict", path=scope.get("path"))
        return CONFLICT
    logger.error("commit_failed", error=type(exc).__name__, path=scope.get("path"), exc_info=exc)
    return INTERNAL
