"""The rules of astro: birth data in the personal-data store, a cache of natal charts, and
charts, transits, numerology and synastry computed by the engine.

Services work inside the caller's transaction and never commit. The engine is called in a
worker thread: a chart takes about a millisecond of CPU and the first use of the gazetteer
several seconds of loading, neither of which may stall the event loop.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

import anyio
import msgspec
from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.birth import (
    BODY,
    STORED,
    Where,
    astro_problem,
    core_birth,
    engine_errors,
    ephemeris_source,
    has_location,
    normalize_birth,
)
from selflink_api.accounts.models import User
from selflink_api.accounts.schemas import BirthData, PersonalData
from selflink_api.accounts.services import PersonalDataStore
from selflink_api.astro import jobs as astro_jobs
from selflink_api.astro.inputs import QUERY, chart_options, options_from_key, options_key
from selflink_api.astro.models import CachedChart
from selflink_api.astro.schemas import ChartOptionsInput, ChartRequest, SynastryRequest
from selflink_api.platform.crypto import (
    DecryptionError,
    Encrypted,
    PersonalDataCipher,
    UnknownKeyError,
)
from selflink_api.platform.events import BIRTH_DATA_CHANGED, EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.problems import CONFLICT, NOT_FOUND, ProblemError
from selflink_api.platform.ratelimit import AttemptLimiter
from selflink_api.settings import Settings
from selflink_api.social.services import SocialService
from selflink_core import astro
from selflink_core.astro import RULES_VERSION, AstroError
from selflink_core.astro.canonical import canonical_json

T = TypeVar("T")

CHART_INDEX_PURPOSE = "astro-chart"
RATE_LIMIT_WINDOW_SECONDS = 60


async def run_engine(where: Where, function: Callable[..., T], *args: Any) -> T:
    """Call the engine in a worker thread; its errors become 422 problems about `where`."""
    try:
        return await anyio.to_thread.run_sync(function, *args)
    except AstroError as error:
        raise astro_problem(error, where) from None


def _located_birth(birth: BirthData, options: astro.ChartOptions) -> tuple[astro.BirthData, str]:
    located = core_birth(birth)
    return located, astro.input_hash(located, options)


def _chart_json(birth: astro.BirthData, options: astro.ChartOptions) -> bytes:
    return astro.natal_chart(birth, options).to_json()


def _fresh_chart(birth: BirthData, options: astro.ChartOptions) -> tuple[str, bytes]:
    located, input_hash = _located_birth(birth, options)
    return input_hash, _chart_json(located, options)


@dataclass(frozen=True)
class AstroToolkit:
    """Long-lived helpers of the astro domain, built once per app."""

    settings: Settings
    cipher: PersonalDataCipher
    limiter: AttemptLimiter
    events: EventBus

    @property
    def ephemeris(self) -> astro.EphemerisSource:
        return ephemeris_source(self.settings)


class ChartCache:
    """Natal charts of signed-in people, computed once per birth data, options and rules.

    A row is found by its owner and options, and answers only if its keyed `input_hash` index
    matches the one the current birth data gives under the current rules version; otherwise
    the chart is computed and, by the `astro.cache_chart` job (a read never writes on the
    request path), the row overwritten. So changed birth data is never answered from the cache
    even before the old rows are deleted, and each person has at most one row per option set.
    """

    def __init__(
        self, session: AsyncSession, cipher: PersonalDataCipher, ephemeris: astro.EphemerisSource
    ) -> None:
        self.session = session
        self.cipher = cipher
        self.source = ephemeris
        # The ephemeris and its files' digests: rows of other files are stale.
        self.ephemeris = ephemeris.identity()

    @staticmethod
    def context(user_id: UUID, index: str) -> bytes:
        """The associated data binding a chart to its owner and its birth data's index."""
        return b"astro_chart_cache:" + user_id.bytes + b":" + index.encode()

    def _index(self, input_hash: str) -> str:
        return self.cipher.blind_index(CHART_INDEX_PURPOSE, input_hash)

    async def chart(
        self, user_id: UUID, birth: BirthData, options: astro.ChartOptions
    ) -> tuple[bytes, bool]:
        """The canonical JSON of the natal chart, and whether it came from the cache."""
        located, input_hash = await run_engine(STORED, _located_birth, birth, options)
        index = self._index(input_hash)
        cached = await self._cached(user_id, options_key(options), index)
        if cached is not None:
            return cached, True
        return await run_engine(STORED, _chart_json, located, options), False

    async def store_current(self, user_id: UUID, key: str) -> None:
        """Cache the chart the person's current birth data gives under options `key`, unless
        the cache holds it already or the birth data is gone or has no place."""
        data = await PersonalDataStore(self.session, self.cipher).load(user_id)
        birth = data.birth if data is not None else None
        if birth is None or not has_location(birth):
            return
        options = options_from_key(key, self.source)
        located, input_hash = await anyio.to_thread.run_sync(_located_birth, birth, options)
        index = self._index(input_hash)
        if await self._cached(user_id, key, index) is None:
            document = await anyio.to_thread.run_sync(_chart_json, located, options)
            await self._store(user_id, key, index, document)

    async def _cached(self, user_id: UUID, key: str, index: str) -> bytes | None:
        row = await self.session.scalar(
            select(CachedChart).where(
                CachedChart.user_id == user_id,
                CachedChart.options_key == key,
                CachedChart.input_hash_index == index,
                CachedChart.rules_version == RULES_VERSION,
            )
        )
        if row is not None:
            try:
                return self.cipher.decrypt(
                    Encrypted(row.key_id, row.ciphertext), context=self.context(user_id, index)
                )
            except (UnknownKeyError, DecryptionError):
                pass  # sealed with a retired key: compute it again
        return None

    async def _store(self, user_id: UUID, key: str, index: str, document: bytes) -> None:
        sealed = self.cipher.encrypt(document, context=self.context(user_id, index))
        now = datetime.now(UTC)
        values = {
            "input_hash_index": index,
            "rules_version": RULES_VERSION,
            "ephemeris": self.ephemeris,
            "key_id": sealed.key_id,
            "ciphertext": sealed.blob,
            "updated_at": now,
        }
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(CachedChart).values(user_id=user_id, options_key=key, **values)
        await self.session.execute(
            statement.on_conflict_do_update(index_elements=["user_id", "options_key"], set_=values)
        )

    async def forget(self, user_id: UUID) -> None:
        await self.session.execute(delete(CachedChart).where(CachedChart.user_id == user_id))

    async def forget_stale(self, user_id: UUID) -> None:
        """Delete the person's charts that their current birth data does not give (all of them
        without birth data). Unlike `forget`, safe to run late: a chart cached meanwhile from
        the new birth data stays."""
        data = await PersonalDataStore(self.session, self.cipher).load(user_id)
        birth = data.birth if data is not None else None
        rows = (
            await self.session.scalars(select(CachedChart).where(CachedChart.user_id == user_id))
        ).all()
        for row in rows:
            if birth is None or not has_location(birth) or not await self._gives(birth, row):
                await self.session.delete(row)
        await self.session.flush()

    async def _gives(self, birth: BirthData, row: CachedChart) -> bool:
        try:
            options = options_from_key(row.options_key, self.source)
            _, input_hash = await anyio.to_thread.run_sync(_located_birth, birth, options)
        except AstroError:
            return False
        return self._index(input_hash) == row.input_hash_index

    async def refresh_stale(self, batch_size: int) -> int:
        """Recompute up to `batch_size` rows made under other rules, ephemeris or key.

        Rows whose owner no longer has usable birth data are deleted. Returns how many rows were
        looked at, so a caller repeats until it gets fewer than `batch_size`.
        """
        rows = (
            await self.session.scalars(
                select(CachedChart)
                .where(
                    or_(
                        CachedChart.rules_version != RULES_VERSION,
                        CachedChart.ephemeris != self.ephemeris,
                        CachedChart.key_id != self.cipher.active_key_id,
                    )
                )
                .order_by(CachedChart.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        personal_data = PersonalDataStore(self.session, self.cipher)
        for row in rows:
            data = await personal_data.load(row.user_id)
            birth = data.birth if data is not None else None
            if birth is None or not has_location(birth):
                await self.session.delete(row)
                continue
            try:
                options = options_from_key(row.options_key, self.source)
                input_hash, document = await anyio.to_thread.run_sync(_fresh_chart, birth, options)
            except AstroError:
                await self.session.delete(row)
                continue
            index = self._index(input_hash)
            sealed = self.cipher.encrypt(document, context=self.context(row.user_id, index))
            row.input_hash_index = index
            row.rules_version, row.ephemeris = RULES_VERSION, self.ephemeris
            row.key_id, row.ciphertext = sealed.key_id, sealed.blob
        await self.session.flush()
        return len(rows)


def _now() -> datetime:
    """The moment the API passes as "now" (the engine never reads the clock), whole seconds."""
    return datetime.now(UTC).replace(microsecond=0)


class AstroService:
    """Everything a person does with astrology."""

    def __init__(
        self, session: AsyncSession, toolkit: AstroToolkit, jobs: JobQueue, client_ip: str
    ) -> None:
        self.session = session
        self.toolkit = toolkit
        self.jobs = jobs
        self.client_ip = client_ip
        self.personal_data = PersonalDataStore(session, toolkit.cipher)
        self.charts = ChartCache(session, toolkit.cipher, toolkit.ephemeris)

    # Birth data ---------------------------------------------------------------------------

    async def _personal(self, user_id: UUID) -> PersonalData:
        return await self.personal_data.load(user_id) or PersonalData(email="")

    async def birth_data(self, user_id: UUID) -> BirthData:
        birth = (await self._personal(user_id)).birth
        if birth is None:
            raise ProblemError(
                NOT_FOUND, "You have no birth data; add it with PUT /api/v1/astro/birth-data."
            )
        return birth

    async def _birth_data_changed(self, user_id: UUID) -> None:
        """Tell other domains (matching recomputes its features) once this commits."""
        await self.toolkit.events.publish(self.jobs, BIRTH_DATA_CHANGED, user_id=str(user_id))

    async def save_birth_data(self, user_id: UUID, birth: BirthData) -> BirthData:
        """Store normalized birth data; cached charts of other birth data are deleted."""
        normalized = await anyio.to_thread.run_sync(normalize_birth, birth, BODY)
        data = await self._personal(user_id)
        if data.birth != normalized:
            await self.personal_data.save(user_id, msgspec.structs.replace(data, birth=normalized))
            await self.charts.forget(user_id)
            await self._birth_data_changed(user_id)
        return normalized

    async def delete_birth_data(self, user_id: UUID) -> None:
        data = await self._personal(user_id)
        if data.birth is not None:
            await self.personal_data.save(user_id, msgspec.structs.replace(data, birth=None))
            await self._birth_data_changed(user_id)
        await self.charts.forget(user_id)

    async def _located_birth_data(self, user_id: UUID) -> BirthData:
        birth = await self.birth_data(user_id)
        if not has_location(birth):
            raise ProblemError(
                CONFLICT,
                "Your birth data has no place or coordinates; add them with "
                "PUT /api/v1/astro/birth-data.",
            )
        return birth

    # Charts of the signed-in person -------------------------------------------------------

    def _options(self, choice: ChartOptionsInput, where: Where) -> astro.ChartOptions:
        return chart_options(choice, self.toolkit.ephemeris, where)

    async def my_chart(self, user_id: UUID, choice: ChartOptionsInput) -> bytes:
        """My natal chart; one not cached yet is cached by a job after the response."""
        options = self._options(choice, QUERY)
        return await self._chart_of(user_id, await self._located_birth_data(user_id), options)

    async def _chart_of(
        self, user_id: UUID, birth: BirthData, options: astro.ChartOptions
    ) -> bytes:
        chart, cached = await self.charts.chart(user_id, birth, options)
        if not cached:
            await self.jobs.enqueue(
                astro_jobs.cache_chart, user_id=str(user_id), options=options_key(options)
            )
        return chart

    async def my_chart_wheel(self, user_id: UUID, choice: ChartOptionsInput) -> bytes:
        """The wheel of my natal chart (from the cache like the chart), SVG as UTF-8."""
        chart = await self.my_chart(user_id, choice)
        return await anyio.to_thread.run_sync(_wheel_svg, chart)

    async def my_transits(self, user_id: UUID, at: str | None, choice: ChartOptionsInput) -> bytes:
        with engine_errors(QUERY):
            moment = _now() if at is None else astro.parse_moment(at, "at")
            aspects = astro.transit_aspect_options(choice.aspects)
        natal = astro.Chart.from_dict(json.loads(await self.my_chart(user_id, choice)))
        source = self.toolkit.ephemeris

        def compute() -> bytes:
            return astro.transits(
                natal, moment, aspects, ephemeris=source.name, ephemeris_path=source.path
            ).to_json()

        return await run_engine(QUERY, compute)

    async def my_numerology(self, user_id: UUID, year: int | None) -> bytes:
        """Numerology of the birth date; the year defaults to the current one where you live
        (your account's time zone), since a personal year starts on January 1."""
        birth = await self.birth_data(user_id)
        if year is None:
            user = await self.session.get(User, user_id)
            zone = ZoneInfo(user.timezone if user is not None else "UTC")
            year = datetime.now(zone).year
        return astro.numerology(birth.date, year).to_json()

    # Charts for any input -----------------------------------------------------------------

    async def _limit(self) -> None:
        await self.toolkit.limiter.hit(
            f"astro-charts:ip:{self.client_ip}",
            limit=self.toolkit.settings.astro_charts_per_minute,
            window_seconds=RATE_LIMIT_WINDOW_SECONDS,
        )

    async def _chart_for(
        self, birth: BirthData, options: astro.ChartOptions, where: Where
    ) -> bytes:
        def compute() -> bytes:
            return _chart_json(core_birth(normalize_birth(birth, where)), options)

        return await run_engine(where, compute)

    async def chart_for(self, request: ChartRequest) -> bytes:
        """A chart for any input; nothing is stored."""
        await self._limit()
        options = self._options(request.options, Where(prefix="options."))
        return await self._chart_for(request.birth, options, Where(prefix="birth."))

    async def synastry(self, user_id: UUID, request: SynastryRequest) -> bytes:
        await self._limit()
        options = self._options(request.options, Where(prefix="options."))
        if request.handle is not None:
            if request.first is not None or request.second is not None:
                raise ProblemError.invalid(
                    "handle", "give either handle or first and second, not both"
                )
            return await self._synastry_with(user_id, request.handle, options, request)
        if request.first is None or request.second is None:
            missing = "first" if request.first is None else "second"
            raise ProblemError.invalid(missing, "give handle, or both first and second")
        first = await self._chart_for(request.first, options, Where(prefix="first."))
        second = await self._chart_for(request.second, options, Where(prefix="second."))
        return await run_engine(
            BODY, _synastry_json, first, second, options.aspects, request.composite
        )

    async def synastry_wheel(self, request: SynastryRequest) -> bytes:
        """The bi-wheel of two explicit births. Not with a handle: the outer ring would be the
        other person's whole chart, which synastry with them never discloses."""
        await self._limit()
        if request.handle is not None:
            raise ProblemError.invalid(
                "handle",
                "a bi-wheel would disclose the other person's chart; "
                "it is only available for explicit input (first and second)",
            )
        if request.composite:
            raise ProblemError.invalid(
                "composite", "a bi-wheel shows the two charts; ask /synastry for the composite"
            )
        if request.first is None or request.second is None:
            missing = "first" if request.first is None else "second"
            raise ProblemError.invalid(missing, "give both first and second")
        options = self._options(request.options, Where(prefix="options."))
        first = await self._chart_for(request.first, options, Where(prefix="first."))
        second = await self._chart_for(request.second, options, Where(prefix="second."))
        return await run_engine(BODY, _biwheel_svg, first, second, options.aspects)

    async def _synastry_with(
        self,
        user_id: UUID,
        handle: str,
        options: astro.ChartOptions,
        request: SynastryRequest,
    ) -> bytes:
        """You and a person who allows matching: discoverable, active, no block either way,
        with located birth data. Every refusal reads the same, so it tells nothing."""
        if request.composite:
            raise ProblemError.invalid(
                "composite",
                "a composite chart would disclose the other person's chart; "
                "it is only available for explicit input",
            )
        name = handle.lower().removeprefix("@")
        me = await self.session.get(User, user_id)
        if me is not None and me.handle == name:
            raise ProblemError.invalid(
                "handle", "compare two people: use natal/me for your own chart"
            )
        refused = ProblemError(NOT_FOUND, f"@{name} is not available for synastry.")
        other = await SocialService(self.session).available_to(user_id, name)
        if other is None:
            raise refused
        other_data = await self.personal_data.load(other.id)
        if other_data is None or other_data.birth is None or not has_location(other_data.birth):
            raise refused
        mine = await self._chart_of(user_id, await self._located_birth_data(user_id), options)
        try:
            theirs = await self._chart_of(other.id, other_data.birth, options)
        except ProblemError:  # their stored birth data no longer passes: nothing to say why
            raise refused from None
        return await run_engine(BODY, _private_synastry_json, mine, theirs, options.aspects)


def _synastry_json(
    first: bytes, second: bytes, aspects: astro.AspectOptions, with_composite: bool
) -> bytes:
    """`{"composite": <document> | null, "synastry": <document>}`, canonical."""
    one = astro.Chart.from_dict(json.loads(first))
    two = astro.Chart.from_dict(json.loads(second))
    relation = astro.synastry(one, two, aspects).to_json()
    composite = astro.composite_chart(one, two, aspects).to_json() if with_composite else b"null"
    return b'{"composite":' + composite + b',"synastry":' + relation + b"}"


def _wheel_svg(chart: bytes) -> bytes:
    return astro.wheel_svg(json.loads(chart)).encode()


def _biwheel_svg(first: bytes, second: bytes, aspects: astro.AspectOptions) -> bytes:
    one = astro.Chart.from_dict(json.loads(first))
    two = astro.Chart.from_dict(json.loads(second))
    relation = astro.synastry(one, two, aspects)
    return astro.biwheel_svg(one.to_dict(), two.to_dict(), relation.to_dict()).encode()


def _private_synastry_json(mine: bytes, theirs: bytes, aspects: astro.AspectOptions) -> bytes:
    """Synastry with another person, minus what is a function of their birth data alone: their
    chart's `input_hash` and the synastry's own hash (both could confirm a guessed birth)."""
    document = dict(
        astro.synastry(
            astro.Chart.from_dict(json.loads(mine)),
            astro.Chart.from_dict(json.loads(theirs)),
            aspects,
        ).to_dict()
    )
    document["second_input_hash"] = None
    document["input_hash"] = None
    return b'{"composite":null,"synastry":' + canonical_json(document) + b"}"
