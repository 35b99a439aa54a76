"""The rules of accounts: registration, sign-in, sessions, passwords, profiles, deletion.

Services work inside the caller's transaction and never commit; handlers and jobs own the
transaction boundary.
"""

import secrets
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio
import msgspec
import structlog
from litestar.security.jwt import Token
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts import schemas
from selflink_api.accounts.birth import Where, normalize_birth
from selflink_api.accounts.identifiers import (
    InvalidIdentifierError,
    handle_candidates,
    normalize_email,
    normalize_handle,
)
from selflink_api.accounts.models import (
    AccountStatus,
    AccountToken,
    AuthSession,
    RefreshToken,
    Role,
    TokenPurpose,
    User,
    UserPersonalData,
    effective_status,
)
from selflink_api.accounts.passwords import PasswordVault, build_hasher, password_problems
from selflink_api.email import services as outbox
from selflink_api.email.jobs import deliver_message
from selflink_api.platform.crypto import (
    Encrypted,
    EncryptedStore,
    PersonalDataCipher,
    token_digest,
)
from selflink_api.platform.domains import AccountPart, Shared
from selflink_api.platform.driver_reads import DriverRead
from selflink_api.platform.events import (
    ACCOUNT_DELETED,
    BIRTH_DATA_CHANGED,
    SIGNED_OUT_EVERYWHERE,
    EventBus,
)
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.problems import (
    CONFLICT,
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHORIZED,
    ProblemError,
)
from selflink_api.platform.ratelimit import AttemptLimiter
from selflink_api.platform.values import checked_text
from selflink_api.settings import Settings

logger = structlog.get_logger("selflink.accounts")

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "selflink"
JWT_AUDIENCE = "selflink-api"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
LIVE_SESSIONS_PER_STATEMENT = 500
INVALID_CREDENTIALS = "The login or password is not correct."
INVALID_REFRESH = "This session has ended; sign in again."


class RefreshTokenReusedError(Exception):
    """A rotated refresh token came back: someone holds a stolen copy. The session is revoked
    in the current transaction, which the caller must commit before answering 401."""


@dataclass(frozen=True)
class Principal:
    """Who is making a request, as established from a valid access token."""

    id: UUID
    handle: str
    role: str
    session_id: UUID


@dataclass(frozen=True)
class AccountsToolkit:
    """Long-lived helpers of the accounts domain, built once per app.

    `shared` brings the other domains' parts of an account: their export sections, what they
    erase when it is deleted and the counts shown on it.
    """

    shared: Shared
    vault: PasswordVault
    my_account: DriverRead

    @classmethod
    def build(cls, shared: Shared) -> "AccountsToolkit":
        parts = (*shared.counts, *([shared.plan] if shared.plan else []))
        return cls(shared, PasswordVault(build_hasher(shared.settings)), my_account_read(parts))

    @property
    def settings(self) -> Settings:
        return self.shared.settings

    @property
    def cipher(self) -> PersonalDataCipher:
        return self.shared.cipher

    @property
    def limiter(self) -> AttemptLimiter:
        return self.shared.limiter

    @property
    def events(self) -> EventBus:
        return self.shared.events


class PersonalDataStore:
    """Reads and writes the encrypted personal-data document of a user."""

    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher) -> None:
        self.session = session
        self.cipher = cipher

    @staticmethod
    def context(user_id: UUID) -> bytes:
        return b"user_pii:" + user_id.bytes

    def email_index(self, email: str) -> str:
        return self.cipher.blind_index("email", email)

    async def load(self, user_id: UUID) -> schemas.PersonalData | None:
        row = await self.session.scalar(
            select(UserPersonalData).where(UserPersonalData.user_id == user_id)
        )
        return None if row is None else self.open(row)

    async def rows_of(self, user_ids: Sequence[UUID]) -> dict[UUID, UserPersonalData]:
        """The sealed rows of many users in one query (batch jobs); `open` reads each."""
        rows = await self.session.scalars(
            select(UserPersonalData).where(UserPersonalData.user_id.in_(user_ids))
        )
        return {row.user_id: row for row in rows}

    def open(self, row: UserPersonalData) -> schemas.PersonalData:
        return self.open_sealed(row.user_id, Encrypted(row.key_id, row.ciphertext))

    def open_sealed(self, user_id: UUID, sealed: Encrypted) -> schemas.PersonalData:
        plaintext = self.cipher.decrypt(sealed, context=self.context(user_id))
        return msgspec.json.decode(plaintext, type=schemas.PersonalData)

    async def save(self, user_id: UUID, data: schemas.PersonalData) -> None:
        sealed = self.cipher.encrypt(msgspec.json.encode(data), context=self.context(user_id))
        row = await self.session.scalar(
            select(UserPersonalData).where(UserPersonalData.user_id == user_id)
        )
        if row is None:
            row = UserPersonalData(user_id=user_id)
            self.session.add(row)
        row.key_id, row.ciphertext = sealed.key_id, sealed.blob
        row.email_index = self.email_index(data.email)
        await self.session.flush()

    async def user_id_for_email(self, email: str) -> UUID | None:
        return await self.session.scalar(
            select(UserPersonalData.user_id).where(
                UserPersonalData.email_index == self.email_index(email)
            )
        )

    async def destroy(self, user_id: UUID) -> None:
        await self.session.execute(
            delete(UserPersonalData).where(UserPersonalData.user_id == user_id)
        )


PERSONAL_DATA_STORE = EncryptedStore(
    "personal-data records",
    UserPersonalData,
    lambda row: PersonalDataStore.context(row.user_id),
)


_BY_HANDLE = select(User).where(User.handle == bindparam("handle"))
"""Built once: every follow, profile view and group invitation looks a handle up."""


async def user_by_handle(session: AsyncSession, handle: str) -> User:
    """An existing, not deleted account; 404 otherwise."""
    user = await session.scalar(_BY_HANDLE, {"handle": handle.lower().removeprefix("@")})
    if user is None or user.status == AccountStatus.DELETED:
        raise ProblemError(NOT_FOUND, f"No user @{handle}.")
    return user


class SessionService:
    """Access tokens (JWT, short-lived) and rotating refresh tokens (opaque, stored hashed)."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def access_token(self, user: User, session_id: UUID, now: datetime) -> str:
        token = Token(
            sub=str(user.id),
            exp=now + timedelta(minutes=self.settings.access_token_minutes),
            iat=now,
            iss=JWT_ISSUER,
            aud=JWT_AUDIENCE,
            jti=uuid.uuid4().hex,
            extras={"sid": str(session_id), "typ": ACCESS_TOKEN_TYPE, "role": user.role},
        )
        return token.encode(self.settings.secret_key.get_secret_value(), JWT_ALGORITHM)

    async def _new_refresh_token(self, auth_session: AuthSession, now: datetime) -> str:
        secret = secrets.token_urlsafe(32)
        self.session.add(
            RefreshToken(
                session_id=auth_session.id,
                token_hash=token_digest(secret),
                expires_at=auth_session.expires_at,
            )
        )
        await self.session.flush()
        return secret

    def _tokens(
        self, access: str, refresh: str, auth_session: AuthSession, now: datetime
    ) -> schemas.SessionTokens:
        return schemas.SessionTokens(
            access_token=access,
            refresh_token=refresh,
            expires_in=self.settings.access_token_minutes * 60,
            refresh_expires_in=int((auth_session.expires_at - now).total_seconds()),
        )

    async def start(self, user: User) -> schemas.SessionTokens:
        now = datetime.now(UTC).replace(microsecond=0)
        auth_session = AuthSession(
            user_id=user.id, expires_at=now + timedelta(days=self.settings.refresh_token_days)
        )
        self.session.add(auth_session)
        await self.session.flush()
        refresh = await self._new_refresh_token(auth_session, now)
        return self._tokens(
            self.access_token(user, auth_session.id, now), refresh, auth_session, now
        )

    async def rotate(self, presented: str) -> tuple[User, schemas.SessionTokens]:
        """Exchange a refresh token for new tokens; a second use revokes the whole session."""
        now = datetime.now(UTC).replace(microsecond=0)
        row = await self.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_digest(presented))
        )
        if row is None:
            raise ProblemError(UNAUTHORIZED, INVALID_REFRESH)
        auth_session = await self.session.get(AuthSession, row.session_id)
        if auth_session is None or auth_session.revoked_at is not None:
            raise ProblemError(UNAUTHORIZED, INVALID_REFRESH)
        if row.used_at is not None:
            auth_session.revoked_at, auth_session.revoked_reason = now, "refresh_reuse"
            logger.warning(
                "refresh_token_reused",
                user_id=str(auth_session.user_id),
                session_id=str(auth_session.id),
            )
            raise RefreshTokenReusedError
        if row.expires_at <= now or auth_session.expires_at <= now:
            raise ProblemError(UNAUTHORIZED, INVALID_REFRESH)
        user = await self.session.get(User, auth_session.user_id)
        if user is None or not user.is_active:
            raise ProblemError(UNAUTHORIZED, INVALID_REFRESH)
        row.used_at = now
        refresh = await self._new_refresh_token(auth_session, now)
        return user, self._tokens(
            self.access_token(user, auth_session.id, now), refresh, auth_session, now
        )

    async def revoke(self, session_id: UUID, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC), revoked_reason=reason)
        )

    async def revoke_all(self, user_id: UUID, reason: str, *, keep: UUID | None = None) -> None:
        statement = update(AuthSession).where(
            AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
        )
        if keep is not None:
            statement = statement.where(AuthSession.id != keep)
        await self.session.execute(
            statement.values(revoked_at=datetime.now(UTC), revoked_reason=reason)
        )

    async def sign_in_state(self, user_id: UUID, session_id: UUID) -> tuple[str, str, str] | None:
        """Status (as of now: a suspension past its end is over), handle and role of the account
        behind a live session, else None: what every signed-in request checks, in one
        statement."""
        row = await _SIGN_IN_STATE.first(self.session, user_id=user_id, session_id=session_id)
        now = datetime.now(UTC)
        if row is None or row.expires_at <= now:
            return None
        return effective_status(row.status, row.suspended_until, now), row.handle, row.role

    async def live_among(self, session_ids: Collection[UUID]) -> set[UUID]:
        """Those of `session_ids` still standing, of accounts active now: what `sign_in_state`
        decides, for many sign-ins at once (a statement per 500)."""
        now = datetime.now(UTC)
        wanted = list(session_ids)
        live: set[UUID] = set()
        for start in range(0, len(wanted), LIVE_SESSIONS_PER_STATEMENT):
            rows = await self.session.execute(
                select(AuthSession.id, AuthSession.expires_at, User.status, User.suspended_until)
                .join(User, User.id == AuthSession.user_id)
                .where(
                    AuthSession.id.in_(wanted[start : start + LIVE_SESSIONS_PER_STATEMENT]),
                    AuthSession.revoked_at.is_(None),
                )
            )
            live.update(
                row.id
                for row in rows
                if row.expires_at > now
                and effective_status(row.status, row.suspended_until, now) == AccountStatus.ACTIVE
            )
        return live


# Built once at import: every signed-in request checks its sign-in, and building a statement
# costs more than running it.
_SIGN_IN_STATE = DriverRead(
    select(User.status, User.suspended_until, User.handle, User.role, AuthSession.expires_at)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        AuthSession.id == bindparam("session_id"),
        AuthSession.revoked_at.is_(None),
    )
)
_MY_ACCOUNT = (
    select(
        User.status,
        User.suspended_until,
        User.handle,
        User.display_name,
        User.bio,
        User.avatar_url,
        User.role,
        User.email_verified_at,
        User.profile_visibility,
        User.message_policy,
        User.discoverable,
        User.locale,
        User.timezone,
        User.created_at,
        UserPersonalData.key_id,
        UserPersonalData.ciphertext,
    )
    .outerjoin(UserPersonalData, UserPersonalData.user_id == User.id)
    .where(User.id == bindparam("user_id"))
)
"""The account's own columns; `my_account_read` adds the other domains' parts."""


def my_account_read(parts: Iterable[AccountPart]) -> DriverRead:
    """`GET /users/me` in one statement: the account with each domain's part of it."""
    statement = _MY_ACCOUNT
    for part in parts:
        statement = part.extend(statement, User.id.expression)
    names = [str(column.key) for column in statement.selected_columns]
    if len(set(names)) != len(names):
        msg = f"two parts of the account read a column of the same name: {sorted(names)}"
        raise ValueError(msg)
    return DriverRead(statement)


class AccountService:
    """Everything a person does with their own account."""

    def __init__(
        self, session: AsyncSession, toolkit: AccountsToolkit, jobs: JobQueue, client_ip: str
    ) -> None:
        self.session = session
        self.toolkit = toolkit
        self.settings = toolkit.settings
        self.jobs = jobs
        self.client_ip = client_ip
        self.personal_data = PersonalDataStore(session, toolkit.cipher)
        self.sessions = SessionService(session, toolkit.settings)

    # Registration and sign-in ------------------------------------------------------------

    async def _limit(self, action: str, account_key: str) -> None:
        limiter, settings = self.toolkit.limiter, self.settings
        window = settings.auth_attempt_window_seconds
        await limiter.hit(
            f"{action}:ip:{self.client_ip}",
            limit=settings.auth_attempts_per_ip,
            window_seconds=window,
        )
        account = self.toolkit.cipher.blind_index("rate-limit", account_key.lower())
        await limiter.hit(
            f"{action}:account:{account}",
            limit=settings.auth_attempts_per_account,
            window_seconds=window,
        )

    async def register(
        self, request: schemas.RegisterRequest
    ) -> tuple[User, schemas.SessionTokens]:
        email = valid_email(request.email)
        await self._limit("register", email)
        user = await self.create_account(
            email=email,
            password=request.password,
            handle=request.handle,
            display_name=request.display_name,
        )
        await self._send_token_email(user, email, TokenPurpose.VERIFY_EMAIL)
        return user, await self.sessions.start(user)

    async def create_account(
        self,
        *,
        email: str,
        password: str,
        handle: str | None = None,
        display_name: str | None = None,
        role: Role = Role.USER,
        verified: bool = False,
    ) -> User:
        """Validate and store a new account with its personal data; sends nothing."""
        email = valid_email(email)
        display_name = checked_text("display_name", (display_name or "").strip())
        if handle is not None:
            try:
                handles = [normalize_handle(handle)]
            except InvalidIdentifierError as exc:
                raise ProblemError.invalid("handle", str(exc)) from exc
        else:
            handles = [*handle_candidates(display_name), f"user_{secrets.randbelow(10**8):08d}"]
        problems = password_problems(
            password, handle=handles[0], email=email, display_name=display_name
        )
        if problems:
            raise ProblemError.invalid("password", "; ".join(problems))
        if await self.personal_data.user_id_for_email(email) is not None:
            raise ProblemError(CONFLICT, "An account with this email already exists.")
        chosen = await self._first_free_handle(handles)
        if chosen is None:
            raise ProblemError(CONFLICT, "This handle is taken.", field="handle")
        user = User(
            handle=chosen,
            display_name=display_name or chosen,
            password_hash=self.toolkit.vault.hash(password),
            role=role,
            status=AccountStatus.ACTIVE,
            email_verified_at=datetime.now(UTC) if verified else None,
        )
        self.session.add(user)
        try:
            await self.session.flush()
            await self.personal_data.save(user.id, schemas.PersonalData(email=email))
        except IntegrityError as exc:  # a concurrent registration won the race
            raise ProblemError(CONFLICT, "This email or handle was just taken.") from exc
        return user

    async def _first_free_handle(self, candidates: list[str]) -> str | None:
        taken = set(
            (
                await self.session.scalars(select(User.handle).where(User.handle.in_(candidates)))
            ).all()
        )
        return next((handle for handle in candidates if handle not in taken), None)

    async def _user_for_login(self, login: str) -> User | None:
        login = login.strip().removeprefix("@")
        if "@" in login:
            try:
                user_id = await self.personal_data.user_id_for_email(normalize_email(login))
            except InvalidIdentifierError:
                return None
            return await self.session.get(User, user_id) if user_id else None
        return await self.session.scalar(select(User).where(User.handle == login.lower()))

    async def login(self, request: schemas.LoginRequest) -> tuple[User, schemas.SessionTokens]:
        await self._limit("login", request.login.strip())
        user = await self._user_for_login(request.login)
        valid = self.toolkit.vault.verify(user.password_hash if user else None, request.password)
        if user is None or not valid or user.status == AccountStatus.DELETED:
            raise ProblemError(UNAUTHORIZED, INVALID_CREDENTIALS)
        if user.is_suspended():
            raise ProblemError(FORBIDDEN, "This account is suspended.")
        if user.password_hash and self.toolkit.vault.needs_rehash(user.password_hash):
            user.password_hash = self.toolkit.vault.hash(request.password)
        return user, await self.sessions.start(user)

    # Passwords ----------------------------------------------------------------------------

    async def _check_new_password(self, user: User, password: str) -> None:
        data = await self.personal_data.load(user.id)
        problems = password_problems(
            password,
            handle=user.handle,
            email=data.email if data else "",
            display_name=user.display_name,
        )
        if problems:
            raise ProblemError.invalid("new_password", "; ".join(problems))

    async def change_password(
        self, principal: Principal, request: schemas.PasswordChangeRequest
    ) -> None:
        user = await self._active_user(principal.id)
        if not self.toolkit.vault.verify(user.password_hash, request.current_password):
            raise ProblemError.invalid("current_password", "is not correct")
        await self._check_new_password(user, request.new_password)
        user.password_hash = self.toolkit.vault.hash(request.new_password)
        await self.sessions.revoke_all(user.id, "password_changed", keep=principal.session_id)

    async def request_password_reset(self, request: schemas.PasswordResetRequest) -> None:
        """Always accepted, so the answer never tells whether an account exists."""
        email = valid_email(request.email)
        await self._limit("password-reset", email)
        user_id = await self.personal_data.user_id_for_email(email)
        user = await self.session.get(User, user_id) if user_id else None
        if user is not None and user.is_active:
            await self._send_token_email(user, email, TokenPurpose.RESET_PASSWORD)

    async def reset_password(self, request: schemas.PasswordResetConfirmation) -> None:
        token = await self._consume_token(request.token, TokenPurpose.RESET_PASSWORD)
        user = await self._active_user(token.user_id)
        await self._check_new_password(user, request.new_password)
        user.password_hash = self.toolkit.vault.hash(request.new_password)
        await self.sessions.revoke_all(user.id, "password_reset")

    # Email verification -------------------------------------------------------------------

    async def request_email_verification(self, principal: Principal) -> None:
        user = await self._active_user(principal.id)
        if user.email_verified_at is not None:
            return
        data = await self.personal_data.load(user.id)
        if data is not None:
            await self._send_token_email(user, data.email, TokenPurpose.VERIFY_EMAIL)

    async def verify_email(self, request: schemas.EmailVerificationConfirmation) -> None:
        token = await self._consume_token(request.token, TokenPurpose.VERIFY_EMAIL)
        user = await self._active_user(token.user_id)
        user.email_verified_at = datetime.now(UTC)

    async def _send_token_email(self, user: User, email: str, purpose: TokenPurpose) -> None:
        secret = secrets.token_urlsafe(32)
        lifetime = timedelta(hours=self.settings.email_token_hours)
        self.session.add(
            AccountToken(
                user_id=user.id,
                purpose=purpose,
                token_hash=token_digest(secret),
                expires_at=datetime.now(UTC) + lifetime,
            )
        )
        base = self.settings.public_base_url.rstrip("/")
        if purpose is TokenPurpose.VERIFY_EMAIL:
            subject = "Confirm your SelfLink email address"
            body = (
                f"Hello {user.display_name},\n\nconfirm this address with the code below "
                f"(POST {base}/api/v1/auth/email-verification/confirm):\n\n{secret}\n\n"
                f"It expires in {self.settings.email_token_hours} hours."
            )
        else:
            subject = "Reset your SelfLink password"
            body = (
                f"Hello {user.display_name},\n\nsomeone asked to reset your password. If it was "
                f"you, use this code (POST {base}/api/v1/auth/password-reset/confirm):\n\n"
                f"{secret}\n\nIt expires in {self.settings.email_token_hours} hours and works "
                "once. If it was not you, ignore this message."
            )
        message = await outbox.add_email(
            self.session,
            self.toolkit.cipher,
            user_id=user.id,
            kind=str(purpose),
            email=outbox.Email(to=email, subject=subject, body=body),
        )
        await self.jobs.enqueue(deliver_message, message_id=str(message.id))

    async def _consume_token(self, presented: str, purpose: TokenPurpose) -> AccountToken:
        now = datetime.now(UTC)
        token = await self.session.scalar(
            select(AccountToken).where(
                AccountToken.token_hash == token_digest(presented), AccountToken.purpose == purpose
            )
        )
        if token is None or token.used_at is not None or token.expires_at <= now:
            raise ProblemError.invalid("token", "is not valid or has expired")
        token.used_at = now
        return token

    # Profile, export, deletion ------------------------------------------------------------

    async def _active_user(self, user_id: UUID) -> User:
        user = await self.session.get(User, user_id)
        if user is None or not user.is_active:
            raise ProblemError(UNAUTHORIZED, "Sign in to continue.")
        return user

    async def my_account(self, user_id: UUID) -> schemas.MyAccount:
        row = await self.toolkit.my_account.first(self.session, user_id=user_id)
        if row is None or effective_status(row.status, row.suspended_until) != AccountStatus.ACTIVE:
            raise ProblemError(UNAUTHORIZED, "Sign in to continue.")
        data = (
            schemas.PersonalData(email="")
            if row.key_id is None
            else self.personal_data.open_sealed(user_id, Encrypted(row.key_id, row.ciphertext))
        )
        now = datetime.now(UTC)
        counts: dict[str, int] = {}
        for part in self.toolkit.shared.counts:
            counts.update(part.shape(self.settings, row, now))
        plan = self.toolkit.shared.plan
        return schemas.MyAccount(
            id=user_id,
            handle=row.handle,
            display_name=row.display_name,
            bio=row.bio,
            avatar_url=row.avatar_url,
            role=row.role,
            email=data.email,
            email_verified=row.email_verified_at is not None,
            full_name=data.full_name,
            phone=data.phone,
            birth=data.birth,
            settings=schemas.AccountSettings(
                profile_visibility=row.profile_visibility,
                message_policy=row.message_policy,
                discoverable=row.discoverable,
                locale=row.locale,
                timezone=row.timezone,
            ),
            counts=msgspec.convert(counts, schemas.Counts),
            plan=(
                None
                if plan is None
                else msgspec.convert(plan.shape(self.settings, row, now), schemas.AccountPlan)
            ),
            created_at=row.created_at,
        )

    async def update_profile(
        self, principal: Principal, changes: schemas.ProfileUpdate
    ) -> schemas.MyAccount:
        user = await self._active_user(principal.id)
        for name, multiline in (("display_name", False), ("bio", True), ("full_name", False)):
            value = getattr(changes, name)
            if value is not msgspec.UNSET:
                checked_text(name, value, multiline=multiline)
        for name in (
            "display_name",
            "bio",
            "avatar_url",
            "profile_visibility",
            "message_policy",
            "discoverable",
            "locale",
        ):
            value = getattr(changes, name)
            if value is not msgspec.UNSET:
                setattr(user, name, value.strip() if isinstance(value, str) else value)
        if changes.timezone is not msgspec.UNSET:
            user.timezone = validate_timezone("timezone", changes.timezone)
        personal = {
            name: getattr(changes, name)
            for name in ("full_name", "phone", "birth")
            if getattr(changes, name) is not msgspec.UNSET
        }
        if personal:
            birth = personal.get("birth")
            if isinstance(birth, schemas.BirthData):
                personal["birth"] = await anyio.to_thread.run_sync(
                    normalize_birth, birth, Where(prefix="birth.")
                )
            data = await self.personal_data.load(user.id) or schemas.PersonalData(email="")
            await self.personal_data.save(user.id, msgspec.structs.replace(data, **personal))
            if "birth" in personal and personal["birth"] != data.birth:
                await self.toolkit.events.publish(
                    self.jobs, BIRTH_DATA_CHANGED, user_id=str(user.id)
                )
        await self.session.flush()
        return await self.my_account(user.id)

    async def export(self, principal: Principal) -> dict[str, Any]:
        """Everything SelfLink holds about the signed-in person.

        Times stay datetimes here and in every section: the response encoder writes them in UTC
        with `Z`, as in every other response.
        """
        account = await self.my_account(principal.id)
        sessions = (
            await self.session.scalars(
                select(AuthSession)
                .where(AuthSession.user_id == principal.id)
                .order_by(AuthSession.id)
            )
        ).all()

        sections = {
            name: await section(self.session, self.toolkit.cipher, principal.id)
            for name, section in sorted(self.toolkit.shared.export_sections.items())
        }
        return {
            "format": "selflink-account-export/1",
            "exported_at": datetime.now(UTC),
            "account": msgspec.to_builtins(account),
            **sections,
            "sessions": [
                {
                    "id": str(s.id),
                    "created_at": s.created_at,
                    "expires_at": s.expires_at,
                    "revoked_at": s.revoked_at,
                }
                for s in sessions
            ],
        }

    async def sign_out_everywhere(self, user_id: UUID) -> None:
        """End every session; push devices go with them (a subscriber to the event)."""
        await self.sessions.revoke_all(user_id, "logout_all")
        await self.toolkit.events.publish(self.jobs, SIGNED_OUT_EVERYWHERE, user_id=str(user_id))

    async def delete_account(
        self, principal: Principal, request: schemas.AccountDeletionRequest
    ) -> None:
        """Destroy personal data, anonymize the profile, end sessions, cut every graph edge."""
        user = await self._active_user(principal.id)
        if not self.toolkit.vault.verify(user.password_hash, request.password):
            raise ProblemError.invalid("password", "is not correct")
        await self.personal_data.destroy(user.id)
        await self.session.execute(delete(AccountToken).where(AccountToken.user_id == user.id))
        for erase in self.toolkit.shared.erasers:
            await erase(self.session, user.id)
        await self.sessions.revoke_all(user.id, "account_deleted")
        user.handle = f"deleted_{user.id.hex[-12:]}"
        user.display_name = "Deleted user"
        user.bio = user.avatar_url = ""
        user.password_hash = None
        user.status = AccountStatus.DELETED
        user.deleted_at = datetime.now(UTC)
        user.discoverable = False
        await self.session.flush()
        await self.toolkit.events.publish(self.jobs, ACCOUNT_DELETED, user_id=str(user.id))
        logger.info("account_deleted", user_id=str(user.id))


def valid_email(raw: str) -> str:
    try:
        return normalize_email(raw)
    except InvalidIdentifierError as exc:
        raise ProblemError.invalid("email", str(exc)) from exc


def validate_timezone(field: str, name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProblemError.invalid(field, "is not an IANA time zone such as Europe/London") from exc
    return name
