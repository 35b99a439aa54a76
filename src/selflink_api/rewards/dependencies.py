"""Request-scoped providers for the rewards domain."""

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.rewards.disputes import DisputeService
from selflink_api.rewards.ledger import LedgerService
from selflink_api.rewards.links import LinkService
from selflink_api.rewards.payouts import PayoutService
from selflink_api.rewards.transparency import TransparencyService
from selflink_api.settings import Settings


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def provide_ledger_service(db_session: NamedDependency[AsyncSession]) -> LedgerService:
    return LedgerService(db_session)


def provide_transparency_service(
    db_session: NamedDependency[AsyncSession],
) -> TransparencyService:
    return TransparencyService(db_session)


def provide_link_service(db_session: NamedDependency[AsyncSession]) -> LinkService:
    return LinkService(db_session)


def provide_dispute_service(db_session: NamedDependency[AsyncSession]) -> DisputeService:
    return DisputeService(db_session)


def provide_payout_service(db_session: NamedDependency[AsyncSession]) -> PayoutService:
    return PayoutService(db_session)
