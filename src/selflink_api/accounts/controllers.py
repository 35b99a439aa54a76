"""HTTP endpoints of accounts: sign-up, sign-in, sessions, passwords and my account."""

from typing import Any

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts import schemas
from selflink_api.accounts.dependencies import (
    provide_account_service,
    provide_principal,
    provide_viewer,
)
from selflink_api.accounts.services import (
    INVALID_REFRESH,
    AccountService,
    Principal,
    RefreshTokenReusedError,
)
from selflink_api.platform.openapi import problems
from selflink_api.platform.problems import UNAUTHORIZED, ProblemError

PUBLIC = {"exclude_from_auth": True}

ACCOUNT_DEPENDENCIES = {
    "accounts": Provide(provide_account_service, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "viewer": Provide(provide_viewer, sync_to_thread=False),
}


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]  # noqa: RUF012
    dependencies = ACCOUNT_DEPENDENCIES

    @post(
        "/register",
        opt=PUBLIC,
        summary="Create an account and sign in",
        status_code=201,
        responses=problems(409),
    )
    async def register(
        self, data: JSONBody[schemas.RegisterRequest], accounts: NamedDependency[AccountService]
    ) -> schemas.SignedIn:
        user, tokens = await accounts.register(data)
        return schemas.SignedIn(user=await accounts.my_account(user.id), session=tokens)

    @post(
        "/login",
        opt=PUBLIC,
        summary="Sign in with email or handle",
        status_code=200,
        responses=problems(401),
    )
    async def login(
        self, data: JSONBody[schemas.LoginRequest], accounts: NamedDependency[AccountService]
    ) -> schemas.SignedIn:
        user, tokens = await accounts.login(data)
        return schemas.SignedIn(user=await accounts.my_account(user.id), session=tokens)

    @post(
        "/refresh",
        opt=PUBLIC,
        summary="Rotate the refresh token",
        status_code=200,
        responses=problems(401),
    )
    async def refresh(
        self,
        data: JSONBody[schemas.RefreshRequest],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
    ) -> schemas.SessionTokens:
        try:
            _, tokens = await accounts.sessions.rotate(data.refresh_token)
        except RefreshTokenReusedError:
            await db_session.commit()  # the revocation must outlive this 401
            raise ProblemError(UNAUTHORIZED, INVALID_REFRESH) from None
        return tokens

    @post("/logout", summary="End this session", status_code=204)
    async def logout(
        self, principal: NamedDependency[Principal], accounts: NamedDependency[AccountService]
    ) -> None:
        await accounts.sessions.revoke(principal.session_id, "logout")

    @post("/logout-all", summary="End every session of this account", status_code=204)
    async def logout_all(
        self, principal: NamedDependency[Principal], accounts: NamedDependency[AccountService]
    ) -> None:
        await accounts.sign_out_everywhere(principal.id)

    @post("/password", summary="Change the password (ends other sessions)", status_code=204)
    async def change_password(
        self,
        data: JSONBody[schemas.PasswordChangeRequest],
        principal: NamedDependency[Principal],
        accounts: NamedDependency[AccountService],
    ) -> None:
        await accounts.change_password(principal, data)

    @post("/password-reset", opt=PUBLIC, summary="Email a reset code", status_code=202)
    async def request_password_reset(
        self,
        data: JSONBody[schemas.PasswordResetRequest],
        accounts: NamedDependency[AccountService],
    ) -> None:
        await accounts.request_password_reset(data)

    @post(
        "/password-reset/confirm",
        opt=PUBLIC,
        summary="Set a new password with a reset code",
        status_code=204,
    )
    async def reset_password(
        self,
        data: JSONBody[schemas.PasswordResetConfirmation],
        accounts: NamedDependency[AccountService],
    ) -> None:
        await accounts.reset_password(data)

    @post("/email-verification", summary="Email a new verification code", status_code=202)
    async def request_email_verification(
        self, principal: NamedDependency[Principal], accounts: NamedDependency[AccountService]
    ) -> None:
        await accounts.request_email_verification(principal)

    @post(
        "/email-verification/confirm",
        opt=PUBLIC,
        summary="Confirm the email address",
        status_code=204,
    )
    async def verify_email(
        self,
        data: JSONBody[schemas.EmailVerificationConfirmation],
        accounts: NamedDependency[AccountService],
    ) -> None:
        await accounts.verify_email(data)


class UsersController(Controller):
    path = "/users"
    tags = ["users"]  # noqa: RUF012
    dependencies = ACCOUNT_DEPENDENCIES

    @get("/me", summary="My account, settings and personal data")
    async def me(
        self, principal: NamedDependency[Principal], accounts: NamedDependency[AccountService]
    ) -> schemas.MyAccount:
        return await accounts.my_account(principal.id)

    @patch("/me", summary="Change my profile, settings or personal data")
    async def update_me(
        self,
        data: JSONBody[schemas.ProfileUpdate],
        principal: NamedDependency[Principal],
        accounts: NamedDependency[AccountService],
    ) -> schemas.MyAccount:
        return await accounts.update_profile(principal, data)

    @get("/me/export", summary="Everything SelfLink holds about me")
    async def export(
        self, principal: NamedDependency[Principal], accounts: NamedDependency[AccountService]
    ) -> Response[dict[str, Any]]:
        body = await accounts.export(principal)
        return Response(
            body, headers={"Content-Disposition": 'attachment; filename="selflink-export.json"'}
        )

    @delete("/me", summary="Delete my account (needs my password)", status_code=204)
    async def delete_me(
        self,
        data: JSONBody[schemas.AccountDeletionRequest],
        principal: NamedDependency[Principal],
        accounts: NamedDependency[AccountService],
    ) -> None:
        await accounts.delete_account(principal, data)
