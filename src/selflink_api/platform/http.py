"""Request plumbing: request ids, the access log, client addresses and post-commit jobs."""

import re
import time
import uuid
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import TYPE_CHECKING, Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware

from selflink_api.platform.database import AUDITED_READ, reading_only
from selflink_api.platform.jobs import JobQueue, JobRunner, current_job_queue
from selflink_api.platform.logging import bind_request_context, clear_request_context

if TYPE_CHECKING:
    from litestar.config.app import AppConfig
    from litestar.connection import ASGIConnection
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

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
