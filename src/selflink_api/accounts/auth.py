"""Bearer authentication: Litestar's JWT middleware, checked against live sessions.

Every request re-checks the session and the account, so signing out, a password change or a
suspension takes effect at once, not when the 15-minute access token expires.
"""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import (
    ImproperlyConfiguredException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import AccountStatus
from selflink_api.accounts.services import (
    ACCESS_TOKEN_TYPE,
    JWT_ALGORITHM,
    JWT_AUDIENCE,
    JWT_ISSUER,
    Principal,
    SessionService,
)
from selflink_api.platform.database import reading, reading_only
from selflink_api.settings import Settings

logger = structlog.get_logger("selflink.auth")

ANONYMOUS_ALLOWED = "anonymous_allowed"
"""Route opt: serve anonymous callers too (a present but invalid token is still refused)."""
WHILE_SUSPENDED = "while_suspended"
"""Route opt: a suspended person's live session may call it (read decisions, appeal)."""


VERIFIED_TOKENS_KEPT = 10_000
_verified: dict[tuple[str, str], Token] = {}


def verified_access_token(encoded: str, secret: str, now: datetime | None = None) -> Token:
    """The token's claims once its signature and claims are checked, or NotAuthorizedException.

    Checking costs about a tenth of a signed-in read's CPU, and a client sends the same token
    with every request for its 15 minutes; so a verified token is remembered (the last
    `VERIFIED_TOKENS_KEPT`, by token and secret) and only its expiry is checked again. Whether
    its sign-in still stands is checked on every request, never remembered."""
    key = (encoded, secret)
    token = _verified.get(key)
    if token is None:
        token = Token.decode(
            encoded,
            secret=secret,
            algorithm=JWT_ALGORITHM,
            audience=[JWT_AUDIENCE],
            issuer=[JWT_ISSUER],
            require_claims=["exp", "iat", "sub", "jti", "iss", "aud"],
        )
        if len(_verified) >= VERIFIED_TOKENS_KEPT:
            del _verified[next(iter(_verified))]  # the oldest remembered
        _verified[key] = token
    elif token.exp <= (now or datetime.now(UTC)):
        del _verified[key]
        raise NotAuthorizedException("Invalid token")
    return token


class BearerAuthenticationMiddleware(JWTAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        if not connection.headers.get(self.auth_header) and connection.route_handler.opt.get(
            ANONYMOUS_ALLOWED
        ):
            return AuthenticationResult(user=None, auth=None)
        return await super().authenticate_request(connection)

    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = verified_access_token(encoded_token, self.token_secret)
        user = await self.retrieve_user_handler(token, connection)
        if not user:
            raise NotAuthorizedException()
        return AuthenticationResult(user=user, auth=token)


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking an access token outside HTTP (the realtime gateway)."""

    principal: Principal | None
    expires_at: datetime | None
    refusal: str | None
    """`invalid` (bad, expired or revoked token, or a closed account) or `suspended`."""


async def check_access_token(
    encoded: str, settings: Settings, session_maker: Callable[[], AsyncSession]
) -> TokenCheck:
    """What the bearer middleware decides for a request, for a token sent another way."""
    try:
        token = verified_access_token(encoded, settings.secret_key.get_secret_value())
    except (NotAuthorizedException, ImproperlyConfiguredException):
        return TokenCheck(None, None, "invalid")
    try:
        principal = await _principal_from_token(token, settings, session_maker)
    except PermissionDeniedException:
        return TokenCheck(None, None, "suspended")
    except NotAuthorizedException:
        return TokenCheck(None, None, "invalid")
    if principal is None:
        return TokenCheck(None, None, "invalid")
    return TokenCheck(principal, token.exp.astimezone(UTC), None)


class SessionWatch:
    """Checks the sign-ins behind a process's long-lived connections (the realtime gateway's
    sockets) together: every `interval` seconds, one reading session and a statement per 500
    sign-ins, however many connections are open, rather than a query per connection. Its
    task runs while anything is watched."""

    def __init__(self, settings: Settings, interval: float) -> None:
        self._settings = settings
        self._interval = interval
        self._watched: dict[int, tuple[UUID, asyncio.Event]] = {}
        self._session_maker: Callable[[], AsyncSession] | None = None
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        """How many sign-ins are watched now."""
        return len(self._watched)

    @contextmanager
    def watching(
        self,
        session_id: UUID,
        session_maker: Callable[[], AsyncSession],
        ended: asyncio.Event,
    ) -> Iterator[None]:
        """Set `ended` once the sign-in `session_id` no longer stands (signed out, revoked,
        expired, or the account suspended or closed), while the block runs."""
        key = id(ended)
        self._watched[key] = (session_id, ended)
        self._session_maker = session_maker
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._check_every_interval())
        try:
            yield
        finally:
            del self._watched[key]
            if not self._watched and self._task is not None:
                self._task.cancel()
                self._task = None

    async def _check_every_interval(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check()
            except Exception as exc:  # the next round tries again
                logger.warning("sign_ins_not_checked", error=type(exc).__name__)

    async def check(self) -> None:
        """One round: set the event of every watch whose sign-in ended."""
        if not self._watched or self._session_maker is None:
            return
        watched = list(self._watched.values())
        with reading():
            async with self._session_maker() as session:
                live = await SessionService(session, self._settings).live_among(
                    {session_id for session_id, _ in watched}
                )
        for session_id, ended in watched:
            if session_id not in live:
                ended.set()


async def _principal_from_token(
    token: Token,
    settings: Settings,
    session_maker: Callable[[], AsyncSession],
    *,
    while_suspended: bool = False,
) -> Principal | None:
    ids = _session_ids(token)
    if ids is None:
        return None
    with reading():  # a read: on SQLite it never waits for a writer's turn
        async with session_maker() as session:
            return await _principal_in(session, *ids, settings, while_suspended=while_suspended)


def _session_ids(token: Token) -> tuple[UUID, UUID] | None:
    """The person and the sign-in an access token names, or None for any other token."""
    if token.extras.get("typ") != ACCESS_TOKEN_TYPE or not token.jti:
        return None
    try:
        return UUID(token.sub), UUID(str(token.extras.get("sid")))
    except ValueError:
        return None


async def _principal_in(
    session: AsyncSession,
    user_id: UUID,
    session_id: UUID,
    settings: Settings,
    *,
    while_suspended: bool = False,
) -> Principal | None:
    found = await SessionService(session, settings).sign_in_state(user_id, session_id)
    if found is None:
        return None
    status, handle, role = found
    if status == AccountStatus.SUSPENDED and not while_suspended:
        raise PermissionDeniedException("This account is suspended.")
    if status not in (AccountStatus.ACTIVE, AccountStatus.SUSPENDED):
        raise NotAuthorizedException("Sign in to continue.")
    return Principal(id=user_id, handle=handle, role=role, session_id=session_id)


def build_jwt_auth(
    settings: Settings,
    session_maker: Callable[[], AsyncSession],
    request_session: Callable[[ASGIConnection[Any, Any, Any, Any]], AsyncSession],
) -> JWTAuth[Principal, Token]:
    """A GET or HEAD checks the sign-in in `request_session`, the request's own database
    session (the one its handler gets), so a read costs one connection, not two. Other
    methods check in a short reading session of their own: in the request's session the check
    would open its write transaction (SQLite's write lock) before the handler, which may write
    in sessions of its own first; as a reader it never waits for a writer's turn. WebSockets,
    whose session nothing would close, do the same."""

    async def principal_from_token(
        token: Token, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> Principal | None:
        while_suspended = bool(connection.route_handler.opt.get(WHILE_SUSPENDED))
        if connection.scope["type"] != ScopeType.HTTP or not reading_only.get():
            return await _principal_from_token(
                token, settings, session_maker, while_suspended=while_suspended
            )
        ids = _session_ids(token)
        if ids is None:
            return None
        return await _principal_in(
            request_session(connection), *ids, settings, while_suspended=while_suspended
        )

    return JWTAuth[Principal, Token](
        retrieve_user_handler=principal_from_token,
        token_secret=settings.secret_key.get_secret_value(),
        algorithm=JWT_ALGORITHM,
        accepted_issuers=[JWT_ISSUER],
        accepted_audiences=[JWT_AUDIENCE],
        require_claims=["exp", "iat", "sub", "jti", "iss", "aud"],
        authentication_middleware_class=BearerAuthenticationMiddleware,
        exclude=["^/health", "^/ready", "^/metrics", "^/schema"],
        # HEAD too (Litestar skips it by default): a HEAD of media must see who asks, as GET.
        exclude_http_methods=["OPTIONS"],
        description="Access token from POST /api/v1/auth/login (15 minutes).",
    )
