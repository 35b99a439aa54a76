"""The transparency pages: the public JSON endpoints' numbers as HTML a person can read.

Server-rendered, with no script: the same `TransparencyService` as `/api/v1/rewards`, so the
pages and the JSON never disagree, and each month names the command that checks it offline.
"""

from dataclasses import dataclass

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from selflink_api.rewards.controllers import PUBLIC, REWARDS_DEPENDENCIES
from selflink_api.rewards.schemas import StatementMonth
from selflink_api.rewards.transparency import TransparencyService
from selflink_api.settings import Settings

CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM = 640, 240, 24, 40


@dataclass(frozen=True)
class Bar:
    period: str
    payout_cents: int
    x: int
    y: int
    width: int
    height: int


def chart_bars(months: list[StatementMonth]) -> list[Bar]:
    """Bar geometry of the statement's chart, tallest payout full height, in SVG units."""
    if not months:
        return []
    tallest = max(month.payout_cents for month in months) or 1
    slot = CHART_WIDTH // len(months)
    usable = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    bars = []
    for index, month in enumerate(months):
        height = month.payout_cents * usable // tallest
        bars.append(
            Bar(
                period=month.period,
                payout_cents=month.payout_cents,
                x=index * slot + slot // 6,
                y=CHART_HEIGHT - CHART_BOTTOM - height,
                width=slot * 2 // 3,
                height=height,
            )
        )
    return bars


def verify_command(settings: Settings, period: str) -> str:
    """The one line that checks a month on one's own machine, against this server's address."""
    base = settings.public_base_url.rstrip("/")
    return f"selflink rewards verify --from {base} --period {period}"


class TransparencyPages(Controller):
    """Public HTML: anyone may read the months, their payouts and a contributor's statement."""

    path = "/transparency"
    opt = PUBLIC
    include_in_schema = False
    dependencies = {  # noqa: RUF012
        "transparency": REWARDS_DEPENDENCIES["transparency"],
        "settings": REWARDS_DEPENDENCIES["settings"],
    }

    @get("/", name="transparency:months")
    async def months(
        self,
        transparency: NamedDependency[TransparencyService],
        settings: NamedDependency[Settings],
    ) -> Template:
        months = await transparency.periods()
        commands = {month.period: verify_command(settings, month.period) for month in months}
        return Template("rewards/months.html", context={"months": months, "commands": commands})

    @get("/{period:str}", name="transparency:month")
    async def month(
        self,
        period: FromPath[str],
        transparency: NamedDependency[TransparencyService],
        settings: NamedDependency[Settings],
    ) -> Template:
        detail = await transparency.period(period)
        context = {
            "month": detail.summary,
            "rows": await transparency.payouts(period),
            "command": verify_command(settings, period),
        }
        return Template("rewards/month.html", context=context)

    @get("/contributors/{contributor:str}", name="transparency:contributor")
    async def contributor(
        self, contributor: FromPath[str], transparency: NamedDependency[TransparencyService]
    ) -> Template:
        statement = await transparency.statement(contributor)
        currencies = {month.period: month.currency for month in await transparency.periods()}
        context = {
            "statement": statement,
            "currencies": currencies,
            "bars": chart_bars(statement.months),
            "chart": {
                "width": CHART_WIDTH,
                "height": CHART_HEIGHT,
                "base": CHART_HEIGHT - CHART_BOTTOM,
            },
        }
        return Template("rewards/contributor.html", context=context)
