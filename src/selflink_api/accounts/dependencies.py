"""Request-scoped providers of the accounts domain."""

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.services import AccountService, AccountsToolkit, Principal
from selflink_api.platform.http import client_ip
from selflink_api.platform.jobs import JobQueue


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in caller; 401 when the route was reached anonymously."""
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("Sign in to continue.")
    return user


def provide_viewer(request: Request[Any, Any, Any]) -> Principal | None:
    """The caller if signed in, else None, for routes that also serve anonymous visitors."""
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None


def provide_account_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> AccountService:
    toolkit: AccountsToolkit = request.app.state.accounts
    return AccountService(db_session, toolkit, jobs, client_ip(request))
