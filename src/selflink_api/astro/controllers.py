"""HTTP endpoints of astro: birth data, my natal chart, transits and numerology, charts for
any input, synastry, and chart wheels. Results are the engine's canonical JSON bytes, sent as
they are; wheels are SVG drawn by the engine from those same documents."""

from typing import Annotated, Any

from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, QueryParameter

from selflink_api.accounts.dependencies import provide_principal
from selflink_api.accounts.schemas import BirthData
from selflink_api.accounts.services import Principal
from selflink_api.astro.dependencies import provide_astro_service
from selflink_api.astro.schemas import (
    ASPECTS_HELP,
    AYANAMSA_HELP,
    HOUSE_SYSTEM_HELP,
    ZODIAC_HELP,
    ChartOptionsInput,
    ChartRequest,
    SynastryRequest,
)
from selflink_api.astro.services import AstroService
from selflink_api.platform.openapi import problems

PUBLIC = {"exclude_from_auth": True}


def provide_chart_options(
    house_system: Annotated[str, QueryParameter(description=HOUSE_SYSTEM_HELP)] = "placidus",
    zodiac: Annotated[str, QueryParameter(description=ZODIAC_HELP)] = "tropical",
    ayanamsa: Annotated[str | None, QueryParameter(description=AYANAMSA_HELP)] = None,
    aspects: Annotated[str, QueryParameter(description=ASPECTS_HELP)] = "major",
) -> ChartOptionsInput:
    """The `chart_options` dependency: chart options from the query string."""
    return ChartOptionsInput(
        house_system=house_system, zodiac=zodiac, ayanamsa=ayanamsa, aspects=aspects
    )


def document(content: bytes) -> Response[bytes]:
    return Response(content, media_type=MediaType.JSON)


SVG = "image/svg+xml"
SVG_HEADERS = {
    # Opened on its own, the picture may run nothing and load nothing; it needs neither.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


def picture(content: bytes) -> Response[bytes]:
    return Response(content, media_type=SVG, headers=SVG_HEADERS)


def drawn(what: str, *statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI for an SVG wheel (otherwise described as JSON)."""
    return {
        200: ResponseSpec(
            data_container=str,
            media_type=SVG,
            generate_examples=False,
            description=f"{what}, SVG; the same bytes for the same charts (docs/astro.md).",
        ),
        **problems(*statuses),
    }


def documented(kind: str) -> dict[int, ResponseSpec]:
    """OpenAPI for an engine document sent as bytes (otherwise described as a string)."""
    return {
        200: ResponseSpec(
            data_container=dict[str, Any],
            generate_examples=False,
            description=f"The engine's {kind} document, canonical JSON (docs/astro.md).",
        ),
        **problems(404),  # no birth data yet
    }


class AstroController(Controller):
    path = "/astro"
    tags = ["astro"]  # noqa: RUF012
    dependencies = {  # noqa: RUF012
        "astro": Provide(provide_astro_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
        "chart_options": Provide(provide_chart_options, sync_to_thread=False),
    }

    @get("/birth-data", summary="My birth data", responses=problems(404))
    async def birth_data(
        self, principal: NamedDependency[Principal], astro: NamedDependency[AstroService]
    ) -> BirthData:
        return await astro.birth_data(principal.id)

    @put("/birth-data", summary="Set my birth data (a place name may replace coordinates)")
    async def save_birth_data(
        self,
        data: JSONBody[BirthData],
        principal: NamedDependency[Principal],
        astro: NamedDependency[AstroService],
    ) -> BirthData:
        return await astro.save_birth_data(principal.id, data)

    @delete("/birth-data", summary="Delete my birth data and cached charts", status_code=204)
    async def delete_birth_data(
        self, principal: NamedDependency[Principal], astro: NamedDependency[AstroService]
    ) -> None:
        await astro.delete_birth_data(principal.id)

    @get("/natal/me", summary="My natal chart", responses=documented("natal chart"))
    async def my_chart(
        self,
        principal: NamedDependency[Principal],
        astro: NamedDependency[AstroService],
        chart_options: NamedDependency[ChartOptionsInput],
    ) -> Response[bytes]:
        return document(await astro.my_chart(principal.id, chart_options))

    @get(
        "/natal/me/wheel",
        summary="My natal chart as an SVG wheel",
        responses=drawn("The wheel of my natal chart", 404),  # no birth data yet
    )
    async def my_wheel(
        self,
        principal: NamedDependency[Principal],
        astro: NamedDependency[AstroService],
        chart_options: NamedDependency[ChartOptionsInput],
    ) -> Response[bytes]:
        return picture(await astro.my_chart_wheel(principal.id, chart_options))

    @get("/transits/me", summary="Transits to my natal chart", responses=documented("transits"))
    async def my_transits(
        self,
        principal: NamedDependency[Principal],
        astro: NamedDependency[AstroService],
        chart_options: NamedDependency[ChartOptionsInput],
        at: Annotated[
            str | None,
            QueryParameter(description="RFC 3339 moment, e.g. 2026-03-01T12:00:00Z; default now."),
        ] = None,
    ) -> Response[bytes]:
        return document(await astro.my_transits(principal.id, at, chart_options))

    @get(
        "/numerology/me",
        summary="My life path, birthday number and personal year",
        responses=documented("numerology"),
    )
    async def my_numerology(
        self,
        principal: NamedDependency[Principal],
        astro: NamedDependency[AstroService],
        year: Annotated[
            int | None,
            QueryParameter(
                ge=1, le=9999, description="Calendar year; default the current one where you live."
            ),
        ] = None,
    ) -> Response[bytes]:
        return document(await astro.my_numerology(principal.id, year))

    @post(
        "/charts",
        opt=PUBLIC,
        summary="A chart for any input, nothing stored",
        status_code=200,
        responses=documented("natal chart"),
    )
    async def chart(
        self, data: JSONBody[ChartRequest], astro: NamedDependency[AstroService]
    ) -> Response[bytes]:
        return document(await astro.chart_for(data))

    @post(
        "/synastry",
        summary="Synastry with a person open to matching, or for two inputs",
        status_code=200,
        responses={
            200: ResponseSpec(
                data_container=dict[str, Any],
                generate_examples=False,
                description='{"composite": <composite chart> | null, "synastry": <synastry>}, '
                "canonical JSON (docs/astro.md).",
            ),
            **problems(404),  # the person named is not open to matching
        },
    )
    async def synastry(
        self,
        data: JSONBody[SynastryRequest],
        principal: NamedDependency[Principal],
        astro: NamedDependency[AstroService],
    ) -> Response[bytes]:
        return document(await astro.synastry(principal.id, data))

    @post(
        "/synastry/wheel",
        summary="Two explicit births as an SVG bi-wheel with their synastry aspects",
        status_code=200,
        responses=drawn("The bi-wheel: first inside, second outside, their aspects as lines"),
    )
    async def synastry_wheel(
        self, data: JSONBody[SynastryRequest], astro: NamedDependency[AstroService]
    ) -> Response[bytes]:
        return picture(await astro.synastry_wheel(data))
