"""The rules of matching in the API: preferences, the precomputed features, a score with one
person, and recommendations ranked over the whole candidate pool.

Services work inside the caller's transaction and never commit. The scoring itself is
`selflink_core.matching`; CPU work (computing features, ranking, explaining) runs in a worker
thread so the event loop keeps serving other requests.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import anyio
import msgspec
import numpy as np
import numpy.typing as npt
import structlog
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    exists,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from selflink_api.accounts.birth import ephemeris_source
from selflink_api.accounts.models import NOT_SHOWN, AccountStatus, User
from selflink_api.accounts.schemas import BirthData
from selflink_api.accounts.services import PersonalDataStore
from selflink_api.matching.candidates import (
    CURRENT_REVISION,
    CandidateCache,
    CandidatePool,
    features_context,
)
from selflink_api.matching.features import (
    LAYOUT,
    RECORD,
    ages_on,
    compute_records,
    dating_of,
    decode_records,
    mode_bit,
    person_of,
)
from selflink_api.matching.models import MatchingFeatures, MatchingPreferences, MatchingRevision
from selflink_api.matching.readings import (
    READING_PEOPLE,
    ExplainedPage,
    Reading,
    ReadingStore,
    reading_key,
)
from selflink_api.matching.schemas import (
    DatingPreferences,
    Match,
    Preferences,
    PreferencesDocument,
    PreferencesUpdate,
    Reason,
    Recommendation,
    RecommendationPage,
    Scores,
)
from selflink_api.payments.services import entitlements_of, subscription_of, with_subscription
from selflink_api.platform.crypto import (
    DecryptionError,
    Encrypted,
    PersonalDataCipher,
    UnknownKeyError,
)
from selflink_api.platform.database import one_of
from selflink_api.platform.driver_reads import DriverRead
from selflink_api.platform.problems import (
    BAD_REQUEST,
    CONFLICT,
    NOT_FOUND,
    ProblemError,
)
from selflink_api.platform.ratelimit import AttemptLimiter
from selflink_api.settings import Settings
from selflink_api.social.services import SocialService
from selflink_core import astro, matching
from selflink_core.matching import (
    LENSES,
    RULES_VERSION,
    MatchingError,
    MatchResult,
    mutual_dating_mask,
    rank,
    same_age_group,
    same_age_group_mask,
    score,
    select_page,
    vocabulary,
)

logger = structlog.get_logger("selflink.matching")

NO_LENS = LENSES.index("none")
CURSOR_SEPARATOR = "."

SECONDS_PER_DAY = 86_400

_HIDDEN_FROM = DriverRead(
    union(
        select(MatchingFeatures.user_id)
        .join(User, User.id == MatchingFeatures.user_id)
        .where(NOT_SHOWN),
        *SocialService.hidden_by_edges(bindparam("user_id")),
    )
)
"""Built once at import, as the next two: every page of recommendations runs them."""
_VIEWER = DriverRead(
    with_subscription(
        select(User.discoverable, CURRENT_REVISION.label("revision")).where(
            User.id == bindparam("user_id")
        ),
        User.id.expression,
    )
)
"""What a page of recommendations needs of its viewer, in one statement: whether they are
discoverable, the pool's revision, and their plan (pages a day)."""
_NAMES = DriverRead(select(User.id, User.handle, User.display_name).where(one_of(User.id, "ids")))


@dataclass(frozen=True)
class MatchingToolkit:
    """Long-lived helpers of the matching domain, built once per app."""

    settings: Settings
    cipher: PersonalDataCipher
    candidates: CandidateCache
    readings: ReadingStore

    @property
    def ephemeris(self) -> astro.EphemerisSource:
        return ephemeris_source(self.settings)


def _core_problem(error: MatchingError, prefix: str = "") -> ProblemError:
    message = error.message.removeprefix(f"{error.field}: ")
    return ProblemError.invalid(prefix + error.field, message, code=error.code)


# Preferences -------------------------------------------------------------------------------


def checked_preferences(document: PreferencesDocument) -> PreferencesDocument:
    """The document with every word and option checked against the rules' vocabulary and put
    in vocabulary order; a 422 naming the first bad field otherwise."""
    modes = vocabulary().modes
    for mode in document.modes:
        if mode not in modes:
            raise ProblemError.invalid("modes", f"{mode!r} is not one of {', '.join(modes)}")
    if len(set(document.modes)) != len(document.modes):
        raise ProblemError.invalid("modes", "a mode is listed twice")
    dating = document.dating
    if dating is not None:
        try:
            accepted = matching.DatingPreferences.from_dict(msgspec.to_builtins(dating))
        except MatchingError as error:
            raise _core_problem(error, "dating.") from None
        dating = DatingPreferences(
            gender=accepted.gender,
            interested_in=list(accepted.interested_in),
            age_min=accepted.age_min,
            age_max=accepted.age_max,
        )
    elif "dating" in document.modes:
        raise ProblemError.invalid(
            "dating", "taking part in dating needs gender, interested_in, age_min and age_max"
        )
    try:
        answers = matching.ProfileAnswers.from_dict(document.answers()).to_dict()
    except MatchingError as error:
        raise _core_problem(error) from None
    return PreferencesDocument(
        modes=[mode for mode in modes if mode in document.modes], dating=dating, **answers
    )


def merged_preferences(
    stored: PreferencesDocument, changes: PreferencesUpdate
) -> PreferencesDocument:
    """`changes` applied to `stored` as a merge patch (see `PreferencesUpdate`), checked."""
    document = msgspec.structs.replace(stored)
    for name in ("modes", "values", "love_languages", "interests"):
        value = getattr(changes, name)
        if value is not msgspec.UNSET:
            setattr(document, name, list(value))
    if changes.lifestyle is not msgspec.UNSET:
        lifestyle = dict(stored.lifestyle)
        for question, answer in changes.lifestyle.items():
            if answer is None:
                lifestyle.pop(question, None)
            else:
                lifestyle[question] = answer
        document.lifestyle = lifestyle
    if changes.dating is None:
        document.dating = None
    elif changes.dating is not msgspec.UNSET:
        fields = msgspec.to_builtins(stored.dating) if stored.dating is not None else {}
        fields.update(msgspec.to_builtins(changes.dating))  # UNSET fields are left out
        try:
            document.dating = msgspec.convert(fields, DatingPreferences)
        except msgspec.ValidationError:
            required = ("gender", "interested_in", "age_min", "age_max")
            missing = next((name for name in required if name not in fields), "")
            raise ProblemError.invalid(f"dating.{missing}".rstrip("."), "is required") from None
    return checked_preferences(document)


class PreferencesStore:
    """The encrypted preferences document of each person."""

    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher) -> None:
        self.session = session
        self.cipher = cipher

    @staticmethod
    def context(user_id: UUID) -> bytes:
        """The associated data binding a preferences document to its owner."""
        return b"matching_preferences:" + user_id.bytes

    async def row(self, user_id: UUID, *, lock: bool = False) -> MatchingPreferences | None:
        statement = select(MatchingPreferences).where(MatchingPreferences.user_id == user_id)
        return await self.session.scalar(statement.with_for_update() if lock else statement)

    def read(self, row: MatchingPreferences) -> PreferencesDocument:
        plaintext = self.cipher.decrypt(
            Encrypted(row.key_id, row.ciphertext), context=self.context(row.user_id)
        )
        return msgspec.json.decode(plaintext, type=PreferencesDocument)

    def seal(self, row: MatchingPreferences, document: PreferencesDocument) -> None:
        sealed = self.cipher.encrypt(
            msgspec.json.encode(document), context=self.context(row.user_id)
        )
        row.key_id, row.ciphertext = sealed.key_id, sealed.blob

    async def save(self, user_id: UUID, document: PreferencesDocument) -> MatchingPreferences:
        row = await self.row(user_id, lock=True)
        if row is None:
            row = MatchingPreferences(user_id=user_id)
            self.session.add(row)
        self.seal(row, document)
        await self.session.flush()
        return row


# Features ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureInputs:
    user_id: UUID
    birth: BirthData | None
    preferences: PreferencesDocument


def _computed(
    inputs: Sequence[FeatureInputs], ephemeris: astro.EphemerisSource
) -> list[tuple[UUID, bytes]]:
    if not inputs:
        return []
    records = compute_records([(item.birth, item.preferences) for item in inputs], ephemeris)
    return [(item.user_id, record.tobytes()) for item, record in zip(inputs, records, strict=True)]


def _orphaned(user_ids: Sequence[UUID]) -> ColumnElement[bool]:
    """Features of these people that have no preferences, checked when the statement runs.

    A refresh that found no preferences row had nothing to lock: the person's first
    preferences may have been committed since, and their own refresh may already have stored
    features, which must stay (on PostgreSQL each statement sees the latest commits).
    """
    return and_(
        MatchingFeatures.user_id.in_(user_ids),
        ~exists().where(MatchingPreferences.user_id == MatchingFeatures.user_id),
    )


class FeatureStore:
    """The precomputed features: written by the jobs, read by requests.

    A person has a features row exactly when they have matching preferences; it is computed
    from those preferences and the birth data in their personal-data document.
    """

    def __init__(
        self, session: AsyncSession, cipher: PersonalDataCipher, ephemeris: astro.EphemerisSource
    ) -> None:
        self.session = session
        self.cipher = cipher
        self.source = ephemeris
        # The ephemeris and its files' digests: rows of another are stale.
        self.ephemeris = ephemeris.identity()
        self.preferences = PreferencesStore(session, cipher)

    async def next_revision(self) -> int:
        """Increment the features revision (its one row is made by the migration); the row stays
        locked until this transaction ends."""
        result = await self.session.execute(
            update(MatchingRevision)
            .values(revision=MatchingRevision.revision + 1)
            .returning(MatchingRevision.revision)
        )
        return int(result.scalar_one())

    async def refresh(self, user_ids: Sequence[UUID]) -> None:
        """Recompute (or delete) the features of these people from their current data;
        preferences sealed under a retired key are sealed again under the active one."""
        ids = sorted(set(user_ids))
        if not ids:
            return
        found = await self.session.execute(select(User.id, User.status).where(User.id.in_(ids)))
        statuses: dict[UUID, str] = {row.id: row.status for row in found}
        rows = {
            row.user_id: row
            for row in (
                await self.session.scalars(
                    select(MatchingPreferences)
                    .where(MatchingPreferences.user_id.in_(ids))
                    .order_by(MatchingPreferences.user_id)
                    .with_for_update()
                )
            ).all()
        }
        departed = [i for i in ids if statuses.get(i, AccountStatus.DELETED) == "deleted"]
        without = [i for i in ids if i not in rows and i not in departed]
        inputs = []
        personal_data = PersonalDataStore(self.session, self.cipher)
        sealed = await personal_data.rows_of([i for i in rows if i not in departed])
        for user_id, row in rows.items():
            if user_id in departed:
                continue
            try:
                document = self.preferences.read(row)
                data = personal_data.open(sealed[user_id]) if user_id in sealed else None
            except (UnknownKeyError, DecryptionError) as error:
                logger.warning(
                    "matching_inputs_unreadable", user_id=str(user_id), error=type(error).__name__
                )
                continue
            if row.key_id != self.cipher.active_key_id:
                self.preferences.seal(row, document)
                flag_modified(row, "updated_at")  # kept: a new seal, not a change of content
            inputs.append(FeatureInputs(user_id, data.birth if data else None, document))
        records = await anyio.to_thread.run_sync(_computed, inputs, self.source)
        if departed:
            await self.session.execute(
                delete(MatchingPreferences).where(MatchingPreferences.user_id.in_(departed))
            )
        removed = departed + without
        if not records and not await self._has_features(removed):
            return
        revision = await self.next_revision()
        if removed:
            await self.session.execute(delete(MatchingFeatures).where(_orphaned(removed)))
        if records:
            await self._store(records, revision)

    async def _has_features(self, user_ids: Sequence[UUID]) -> bool:
        """Whether any of these people has features but no preferences (see `_orphaned`)."""
        if not user_ids:
            return False
        found = await self.session.scalar(
            select(MatchingFeatures.id).where(_orphaned(user_ids)).limit(1)
        )
        return found is not None

    async def _store(self, records: Sequence[tuple[UUID, bytes]], revision: int) -> None:
        """Insert or replace the rows of these records, in one statement."""
        now = dt.datetime.now(dt.UTC)
        rows: list[dict[str, Any]] = []
        for user_id, record in records:
            sealed = self.cipher.encrypt(record, context=features_context(user_id))
            rows.append(
                {
                    "user_id": user_id,
                    "rules_version": RULES_VERSION,
                    "layout": LAYOUT,
                    "ephemeris": self.ephemeris,
                    "revision": revision,
                    "key_id": sealed.key_id,
                    "ciphertext": sealed.blob,
                    "updated_at": now,
                }
            )
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(MatchingFeatures)
        replaced = (
            "rules_version",
            "layout",
            "ephemeris",
            "revision",
            "key_id",
            "ciphertext",
            "updated_at",
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id"],
                set_={name: statement.excluded[name] for name in replaced},
            ),
            rows,
        )

    async def forget(self, user_id: UUID) -> None:
        """Delete a person's preferences and features."""
        await self.session.execute(
            delete(MatchingPreferences).where(MatchingPreferences.user_id == user_id)
        )
        if await self._has_features([user_id]):
            await self.next_revision()
            await self.session.execute(
                delete(MatchingFeatures).where(MatchingFeatures.user_id == user_id)
            )

    async def stale_user_ids(self, after: UUID | None, limit: int) -> list[UUID]:
        """People whose matching data needs work, in id order after `after`: features of other
        rules, layout, ephemeris or key; preferences without features (a lost job) or under a
        retired key; anything left of a deleted account."""
        active = self.cipher.active_key_id
        departed = User.status == AccountStatus.DELETED
        kinds = (
            select(MatchingFeatures.user_id).where(
                or_(
                    MatchingFeatures.rules_version != RULES_VERSION,
                    MatchingFeatures.layout != LAYOUT,
                    MatchingFeatures.ephemeris != self.ephemeris,
                    MatchingFeatures.key_id != active,
                )
            ),
            select(MatchingPreferences.user_id)
            .outerjoin(MatchingFeatures, MatchingFeatures.user_id == MatchingPreferences.user_id)
            .where(or_(MatchingFeatures.id.is_(None), MatchingPreferences.key_id != active)),
            select(MatchingPreferences.user_id)
            .join(User, User.id == MatchingPreferences.user_id)
            .where(departed),
            select(MatchingFeatures.user_id)
            .join(User, User.id == MatchingFeatures.user_id)
            .where(departed),
        )
        # Each kind is cut to the next `limit` ids after `after` on its own, along the user_id
        # index, before the union: a batch then costs its own rows, not a scan of everyone
        # (the job over 100,000 people ran 500 such scans).
        firsts = []
        for kind in kinds:
            user_id = kind.selected_columns[0]
            after_cursor = kind if after is None else kind.where(user_id > after)
            first = after_cursor.order_by(user_id).limit(limit).subquery()
            firsts.append(select(first.c.user_id))
        candidates = union(*firsts).subquery()
        statement = select(candidates.c.user_id).order_by(candidates.c.user_id).limit(limit)
        return list((await self.session.scalars(statement)).all())

    async def records_of(self, user_ids: Sequence[UUID]) -> dict[UUID, np.void]:
        """The current features records of these people (rows of other rules are skipped)."""
        rows = (
            await self.session.scalars(
                select(MatchingFeatures).where(
                    MatchingFeatures.user_id.in_(user_ids),
                    MatchingFeatures.rules_version == RULES_VERSION,
                    MatchingFeatures.layout == LAYOUT,
                )
            )
        ).all()
        found = {}
        for row in rows:
            try:
                plaintext = self.cipher.decrypt(
                    Encrypted(row.key_id, row.ciphertext), context=features_context(row.user_id)
                )
            except (UnknownKeyError, DecryptionError):
                continue
            if len(plaintext) == RECORD.itemsize:
                found[row.user_id] = decode_records([plaintext])[0]
        return found


# Requests ----------------------------------------------------------------------------------


def _scores(result: MatchResult) -> Scores:
    return msgspec.convert(dict(result.scores), Scores)


def _reasons(result: MatchResult) -> list[Reason]:
    return [msgspec.convert(reason.to_dict(), Reason) for reason in result.reasons]


def _read_pages(pool: CandidatePool, me: int, rows: np.ndarray[Any, Any], size: int) -> Reading:
    """Rank the candidates at `rows` for the person at `me` once, and cut every page of the
    reading from that ranking (the best `READING_PEOPLE` of each lens are all a reading can
    show, so paging only looks at those)."""
    ranking = rank(person_of(pool.records[me]), pool.matrix.take(rows))
    shared = ranking.lenses != NO_LENS  # no data in common: nothing to recommend on
    rows = rows[shared]
    scores, lenses, keys = ranking.ranking_scores[shared], ranking.lenses[shared], pool.keys[rows]
    order = np.lexsort((keys, -scores))
    best = np.sort(
        np.concatenate(
            [order[lenses[order] == lens][:READING_PEOPLE] for lens in np.unique(lenses)]
            or [np.zeros(0, dtype=np.intp)]
        )
    )
    pages: list[list[str]] = []
    cursor: str | None = None
    while len(pages) * size < READING_PEOPLE:
        page = select_page(scores[best], lenses[best], keys[best], cursor=cursor, page_size=size)
        pages.append([str(pool.user_ids[int(rows[best[index]])]) for index in page.rows])
        cursor = page.next_cursor
        if cursor is None:
            break
    return Reading(pages=pages)


def _explained(pool: CandidatePool, me: int, reading: Reading, index: int) -> ExplainedPage:
    """Scores and reasons of the people on page `index` (those still in the pool)."""
    person = person_of(pool.records[me])
    shown, items = [], []
    for user_id in reading.pages[index]:
        row = pool.positions.get(UUID(user_id))
        if row is None:
            continue
        result = score(person, person_of(pool.records[row]))
        shown.append(user_id)
        items.append(
            Recommendation(
                handle="",
                display_name="",
                total=result.total,
                ranking_score=result.ranking_score,
                lens=result.lens,
                scores=_scores(result),
                reasons=_reasons(result),
            )
        )
    return ExplainedPage(user_ids=shown, items=items, pages=len(reading.pages))


def _today() -> dt.date:
    """The day ages are counted on: the UTC date, the same for everyone in a request."""
    return dt.datetime.now(dt.UTC).date()


class MatchingService:
    """Everything a person does with matching."""

    def __init__(self, session: AsyncSession, toolkit: MatchingToolkit) -> None:
        self.session = session
        self.toolkit = toolkit
        self.store = PreferencesStore(session, toolkit.cipher)
        self.features = FeatureStore(session, toolkit.cipher, toolkit.ephemeris)

    async def preferences(self, user_id: UUID) -> Preferences:
        row = await self.store.row(user_id)
        if row is None:
            return Preferences()
        return self._answer(self.store.read(row), row)

    @staticmethod
    def _answer(document: PreferencesDocument, row: MatchingPreferences) -> Preferences:
        return Preferences(**msgspec.structs.asdict(document), updated_at=row.updated_at)

    async def update_preferences(
        self, user_id: UUID, changes: PreferencesUpdate
    ) -> tuple[Preferences, bool]:
        """Apply `changes`; also says whether anything changed (the features job is due)."""
        row = await self.store.row(user_id, lock=True)
        stored = self.store.read(row) if row is not None else PreferencesDocument()
        document = merged_preferences(stored, changes)
        if row is not None and document == stored:
            return self._answer(document, row), False
        row = await self.store.save(user_id, document)
        return self._answer(document, row), True

    async def delete_preferences(self, user_id: UUID) -> None:
        await self.features.forget(user_id)

    async def _not_ready(self, user_id: UUID) -> ProblemError:
        if await self.store.row(user_id) is None:
            return ProblemError(
                CONFLICT,
                "Set your matching preferences first: PATCH /api/v1/matching/preferences.",
            )
        return ProblemError(
            CONFLICT, "Your matching profile is being prepared; try again in a moment."
        )

    async def match_with(self, user_id: UUID, handle: str) -> Match:
        """You and a person open to matching: active, discoverable, no block either way, with
        matching preferences. Every refusal reads the same, so it tells nothing."""
        name = handle.lower().removeprefix("@")
        me = await self.session.get(User, user_id)
        if me is not None and me.handle == name:
            raise ProblemError.invalid(
                "handle", "compare yourself with someone else", source="path"
            )
        mine = (await self.features.records_of([user_id])).get(user_id)
        if mine is None:
            raise await self._not_ready(user_id)
        refused = ProblemError(NOT_FOUND, f"@{name} is not available for matching.")
        other = await SocialService(self.session).available_to(user_id, name)
        if other is None:
            raise refused
        theirs = (await self.features.records_of([other.id])).get(other.id)
        if theirs is None:
            raise refused
        my_age, their_age = ages_on(np.array([mine, theirs]), _today())
        if not same_age_group(int(my_age), int(their_age)):
            raise refused
        result = await anyio.to_thread.run_sync(score, person_of(mine), person_of(theirs))
        explained = result.to_dict()
        return Match(
            handle=other.handle,
            display_name=other.display_name,
            kind=explained["kind"],
            rules_version=explained["rules_version"],
            total=result.total,
            ranking_score=result.ranking_score,
            lens=result.lens,
            coverage=list(result.coverage),
            scores=_scores(result),
            weights=explained["weights"],
            reasons=_reasons(result),
            details=explained["details"],
        )

    async def compatibility(self, user_id: UUID, others: Sequence[UUID]) -> dict[UUID, float]:
        """Ranking scores as fractions (points / 100) of this person with each of `others`
        open to matching with them, by the rules recommendations follow (available, same age
        group); the others, and everyone when this person has no features, are left out."""
        # Mine first: without them nobody is scored, and the others' records (decrypted one
        # by one) need not be read at all.
        mine = (await self.features.records_of([user_id])).get(user_id)
        if mine is None:
            return {}
        records = await self.features.records_of(others)
        hidden = await self._hidden_from(user_id)
        today = _today()
        pairs = []
        for other in others:
            theirs = records.get(other)
            if theirs is None or other == user_id or other in hidden:
                continue
            my_age, their_age = ages_on(np.array([mine, theirs]), today)
            if same_age_group(int(my_age), int(their_age)):
                pairs.append((other, theirs))

        def scored() -> dict[UUID, float]:
            me = person_of(mine)
            return {
                other: score(me, person_of(theirs)).ranking_score / 100 for other, theirs in pairs
            }

        return await anyio.to_thread.run_sync(scored)

    async def _hidden_from(self, user_id: UUID) -> set[UUID]:
        """People with features who may not be shown to this person now: not active, not
        discoverable, blocked either way, or muted by them."""
        return {row.user_id for row in await _HIDDEN_FROM.all(self.session, user_id=user_id)}

    async def recommendations(
        self,
        user_id: UUID,
        mode: str,
        cursor: str | None,
        size: int,
        limiter: AttemptLimiter | None = None,
    ) -> RecommendationPage:
        """A page of recommendations. With a `limiter`, the page is counted against the
        person's plan (pages per UTC day) once it is ready: 429 with Retry-After (the next
        midnight UTC) once they are used up. The feed's teaser of the best match is not."""
        position = _page_position(mode, cursor)
        viewer = await _VIEWER.first(self.session, user_id=user_id)
        if viewer is None or not viewer.discoverable:
            raise ProblemError(
                CONFLICT,
                "Recommendations show you people who can see you: turn on discoverable "
                "(PATCH /api/v1/users/me) first.",
            )
        page = await self._recommendations(user_id, mode, position, size, viewer.revision or 0)
        if limiter is None:
            return page
        limit = entitlements_of(
            self.toolkit.settings, subscription_of(viewer)
        ).recommendation_pages_per_day
        try:
            await limiter.hit(
                f"recommendation-pages:{user_id}", limit=limit, window_seconds=SECONDS_PER_DAY
            )
        except ProblemError as used_up:
            raise ProblemError(
                used_up.kind,
                f"Your plan shows {limit} pages of recommendations a day; "
                "the count resets at 00:00 UTC.",
                headers=used_up.headers,
            ) from None
        return page

    async def _recommendations(
        self, user_id: UUID, mode: str, position: tuple[str, int] | None, size: int, revision: int
    ) -> RecommendationPage:
        pool = await self.toolkit.candidates.pool(self.session, revision)
        me = pool.positions.get(user_id)
        if me is None:
            raise await self._not_ready(user_id)
        records = pool.records
        bit = mode_bit(mode)
        if not int(records[me]["modes"]) & bit:
            raise ProblemError(
                CONFLICT,
                f"You do not take part in {mode} recommendations; add {mode!r} to your modes "
                "with PATCH /api/v1/matching/preferences.",
            )
        today = _today()  # one day for the ages and the reading, even across midnight
        dating = _dating_terms(records, me, today) if mode == "dating" else None
        hidden = await self._hidden_from(user_id)
        key, index = position or (
            reading_key(user_id, mode, size, pool.revision, today, hidden),
            0,
        )
        readings = self.toolkit.readings
        page = await readings.page(user_id, key, index)  # a page shown before: no ranking to read
        if page is None:
            reading = await readings.reading(user_id, key)
            if reading is None:
                if position is not None:
                    raise ProblemError(
                        BAD_REQUEST, "This list has expired; start again without a cursor."
                    )
                eligible = _eligible(pool, me, mode, today, hidden, dating)
                reading = await anyio.to_thread.run_sync(_read_pages, pool, me, eligible, size)
                await readings.keep_reading(user_id, key, reading)
            if index >= len(reading.pages):
                raise _bad_cursor()
            page = await anyio.to_thread.run_sync(_explained, pool, me, reading, index)
            await readings.keep_page(user_id, key, index, page)
        shown = [
            (UUID(person), item)
            for person, item in zip(page.user_ids, page.items, strict=True)
            if UUID(person) not in hidden
        ]
        people = {
            row.id: row
            for row in await _NAMES.all(self.session, ids=[person for person, _ in shown])
        }
        return RecommendationPage(
            mode=mode,
            items=[
                msgspec.structs.replace(
                    item, handle=people[person].handle, display_name=people[person].display_name
                )
                for person, item in shown
                if person in people
            ],
            next_cursor=(
                CURSOR_SEPARATOR.join((mode, key, str(index + 1)))
                if index + 1 < page.pages
                else None
            ),
        )


def _eligible(
    pool: CandidatePool,
    me: int,
    mode: str,
    today: dt.date,
    hidden: set[UUID],
    dating: tuple[Any, int] | None,
) -> npt.NDArray[np.intp]:
    """The pool's rows a new reading ranks: in the mode and my age group, not me, not
    hidden from me (and, with my `dating` terms, wanted both ways). Only a reading not kept
    yet needs them, so a kept page never computes the pool's ages."""
    records = pool.records
    ages = ages_on(records, today)
    keep = ((records["modes"] & mode_bit(mode)) != 0) & same_age_group_mask(int(ages[me]), ages)
    keep[me] = False
    for person in hidden:
        row = pool.positions.get(person)
        if row is not None:
            keep[row] = False
    if dating is not None:
        preferences, age = dating
        keep &= mutual_dating_mask(
            preferences,
            age,
            genders=records["gender"],
            interested_in=records["interested_in"],
            age_min=records["age_min"],
            age_max=records["age_max"],
            ages=ages,
        )
    return np.flatnonzero(keep)


def _dating_terms(records: Any, me: int, today: dt.date) -> tuple[Any, int]:
    """My dating preferences and age, or the problem that keeps me from a dating list (every
    request checks, a kept page too)."""
    preferences = dating_of(records[me])
    if preferences is None:
        raise ProblemError(
            CONFLICT,
            "Dating needs your dating preferences: PATCH /api/v1/matching/preferences.",
        )
    age = int(ages_on(records[me : me + 1], today)[0])
    if age < 0:
        raise ProblemError(CONFLICT, "Dating needs your birth date: PUT /api/v1/astro/birth-data.")
    if age < vocabulary().min_age:
        raise ProblemError(CONFLICT, f"Dating is open from the age of {vocabulary().min_age}.")
    return preferences, age


def _bad_cursor() -> ProblemError:
    return ProblemError(
        BAD_REQUEST, "The cursor is not valid for this list; start again without it."
    )


def _page_position(mode: str, cursor: str | None) -> tuple[str, int] | None:
    """The reading and page index a cursor names (`mode.reading.index`); None for page 1."""
    if cursor is None:
        return None
    parts = cursor.split(CURSOR_SEPARATOR)
    if len(parts) != 3 or parts[0] != mode or not parts[1].isalnum() or not parts[2].isdigit():
        raise _bad_cursor()
    index = int(parts[2])
    if not 0 < index < READING_PEOPLE:
        raise _bad_cursor()
    return parts[1], index


async def export_for_user(
    session: AsyncSession, cipher: PersonalDataCipher, user_id: UUID
) -> dict[str, Any] | None:
    """The person's matching preferences, for the account export (features are derived)."""
    store = PreferencesStore(session, cipher)
    row = await store.row(user_id)
    if row is None:
        return None
    return {
        "preferences": msgspec.to_builtins(store.read(row)),
        "updated_at": row.updated_at,
    }
