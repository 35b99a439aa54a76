"""The candidate pool: every stored features record, decrypted and turned into a
`CandidateMatrix` once, kept in this process while the features revision stays the same.

Why a cache: decoding the pool costs a query over every features row, one AES-GCM decryption
per row and building the matrix, about 60-90 ms for 10,000 people, many times the ranking
itself. The pool changes only when a features row is written or deleted, and every such
transaction increments `matching_revision` (see `MatchingRevision`), so one single-row read
per request tells whether the pool is current. When it is not, one statement reads the rows
written after the cached revision together with the number of current rows; if that number
shows nothing was deleted, only those rows are decrypted and patched in. Otherwise every
row's id and revision are read again and only the newer rows decrypted. Who may be shown
(active, discoverable, blocks, mutes) is never cached: it is read per request, as it changes
outside this domain.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import anyio
import numpy as np
import numpy.typing as npt
import structlog
from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.matching.features import (
    LAYOUT,
    RECORD,
    Records,
    decode_records,
    records_frame,
)
from selflink_api.matching.models import MatchingFeatures, MatchingRevision
from selflink_api.platform.crypto import (
    DecryptionError,
    Encrypted,
    PersonalDataCipher,
    UnknownKeyError,
)
from selflink_core.matching import RULES_VERSION, CandidateMatrix

logger = structlog.get_logger("selflink.matching")

StoredRow = tuple[UUID, int, str | None, bytes | None]
"""(user id, revision, key id, ciphertext); key and ciphertext only for rows newer than the
cached revision."""


FEATURES_CONTEXT_SUFFIX = f":{RULES_VERSION}:{LAYOUT}".encode()


def features_context(user_id: UUID) -> bytes:
    """The associated data binding a features record to its owner, rules and layout."""
    return b"matching_features:" + user_id.bytes + FEATURES_CONTEXT_SUFFIX


@dataclass(frozen=True)
class CandidatePool:
    """Everyone with current features whose record could be read."""

    revision: int
    user_ids: tuple[UUID, ...]
    keys: npt.NDArray[np.str_]  # the user ids as strings: `select_page`'s stable keys
    positions: dict[UUID, int]
    records: Records
    matrix: CandidateMatrix
    unreadable: frozenset[UUID] = frozenset()  # current rows left out

    @classmethod
    def empty(cls) -> "CandidatePool":
        return cls.of(-1, [], np.zeros(0, dtype=RECORD), frozenset())

    @classmethod
    def of(
        cls,
        revision: int,
        user_ids: Sequence[UUID],
        records: Records,
        unreadable: frozenset[UUID],
    ) -> "CandidatePool":
        return cls(
            revision=revision,
            user_ids=tuple(user_ids),
            keys=np.array([str(user_id) for user_id in user_ids], dtype=np.str_),
            positions={user_id: index for index, user_id in enumerate(user_ids)},
            records=records,
            matrix=CandidateMatrix.from_frame(records_frame(records)),
            unreadable=unreadable,
        )

    def __len__(self) -> int:
        return len(self.user_ids)

    @property
    def rows_seen(self) -> int:
        """How many current features rows this pool accounts for."""
        return len(self.user_ids) + len(self.unreadable)


def _open(cipher: PersonalDataCipher, row: StoredRow) -> bytes | None:
    user_id, _, key_id, ciphertext = row
    if key_id is None or ciphertext is None:
        return None
    try:
        plaintext = cipher.decrypt(Encrypted(key_id, ciphertext), context=features_context(user_id))
    except (UnknownKeyError, DecryptionError):
        logger.warning("matching_features_unreadable", user_id=str(user_id))
        return None
    return plaintext if len(plaintext) == RECORD.itemsize else None


def merge_pool(
    previous: CandidatePool, revision: int, rows: Sequence[StoredRow], cipher: PersonalDataCipher
) -> CandidatePool:
    """The pool of `rows` (every current row, in user-id order): rows as old as the ones in
    `previous` are copied from it, newer ones (which carry their ciphertext) decrypted. A row
    that cannot be read is left out until the stale-features job recomputes it."""
    user_ids: list[UUID] = []
    kept_from: list[int] = []  # positions in `previous`, or -1 for a decrypted record
    fresh: list[bytes] = []
    unreadable: set[UUID] = set()
    for row in rows:
        user_id, _, key_id, _ = row
        position = previous.positions.get(user_id)
        if key_id is None and position is not None:
            kept_from.append(position)
        else:
            plaintext = _open(cipher, row)
            if plaintext is None:
                unreadable.add(user_id)
                continue
            kept_from.append(-1)
            fresh.append(plaintext)
        user_ids.append(user_id)
    records = np.zeros(len(user_ids), dtype=RECORD)
    origin = np.array(kept_from, dtype=np.int64)
    copied = origin >= 0
    records[copied] = previous.records[origin[copied]]
    records[~copied] = decode_records(fresh)
    return CandidatePool.of(revision, user_ids, records, frozenset(unreadable))


def apply_changes(
    previous: CandidatePool, revision: int, changed: Sequence[StoredRow], cipher: PersonalDataCipher
) -> CandidatePool | None:
    """`previous` with rows written since its revision replaced or added, when nothing was
    deleted; None when a known row can no longer be read (the caller reloads in full)."""
    replaced_at: list[int] = []
    replaced: list[bytes] = []
    added_ids: list[UUID] = []
    added: list[bytes] = []
    unreadable = set(previous.unreadable)
    for row in changed:
        user_id = row[0]
        plaintext = _open(cipher, row)
        position = previous.positions.get(user_id)
        if plaintext is None:
            if position is not None:
                return None
            unreadable.add(user_id)
            continue
        unreadable.discard(user_id)
        if position is None:
            added_ids.append(user_id)
            added.append(plaintext)
        else:
            replaced_at.append(position)
            replaced.append(plaintext)
    records = previous.records.copy()
    records[replaced_at] = decode_records(replaced)
    if not added:
        return CandidatePool(
            revision=revision,
            user_ids=previous.user_ids,
            keys=previous.keys,
            positions=previous.positions,
            records=records,
            matrix=CandidateMatrix.from_frame(records_frame(records)),
            unreadable=frozenset(unreadable),
        )
    return CandidatePool.of(
        revision,
        [*previous.user_ids, *added_ids],
        np.concatenate([records, decode_records(added)]),
        frozenset(unreadable),
    )


CURRENT_REVISION = select(MatchingRevision.revision).scalar_subquery()
"""The features' revision now (NULL before any features), for a statement that reads it with
other columns: every page of recommendations reads it, to see whether the pool moved."""


CURRENT = and_(MatchingFeatures.rules_version == RULES_VERSION, MatchingFeatures.layout == LAYOUT)
"""Rows of other rules or layouts wait for the stale-features job."""


class CandidateCache:
    """The process's candidate pool, refreshed when the features revision moves."""

    def __init__(self, cipher: PersonalDataCipher) -> None:
        self.cipher = cipher
        self._pool = CandidatePool.empty()
        self._lock = anyio.Lock()

    async def pool(self, session: AsyncSession, revision: int) -> CandidatePool:
        """The pool as of `revision` (`CURRENT_REVISION`, read in `session`) or later."""
        if self._pool.revision >= revision:
            return self._pool
        async with self._lock:
            previous = self._pool
            if previous.revision >= revision:
                return previous
            pool = None
            if previous.revision >= 0:
                count, changed = await self._changes(session, previous.revision)
                new = {row[0] for row in changed} - previous.positions.keys() - previous.unreadable
                if count == previous.rows_seen + len(new):  # nothing was deleted
                    pool = await anyio.to_thread.run_sync(
                        apply_changes, previous, revision, changed, self.cipher
                    )
            if pool is None:
                rows = await self._everyone(session, previous.revision)
                pool = await anyio.to_thread.run_sync(
                    merge_pool, previous, revision, rows, self.cipher
                )
            self._pool = pool
            return pool

    @staticmethod
    async def _changes(session: AsyncSession, since: int) -> tuple[int, list[StoredRow]]:
        """How many current rows there are, and the rows written after `since`, read in one
        statement (one snapshot)."""
        count = select(func.count().label("rows")).where(CURRENT).subquery()
        result = await session.execute(
            select(
                count.c.rows,
                MatchingFeatures.user_id,
                MatchingFeatures.revision,
                MatchingFeatures.key_id,
                MatchingFeatures.ciphertext,
            ).select_from(
                count.outerjoin(MatchingFeatures, and_(CURRENT, MatchingFeatures.revision > since))
            )
        )
        rows = result.all()
        changed: list[StoredRow] = [
            (user_id, revision, key_id, ciphertext)
            for _, user_id, revision, key_id, ciphertext in rows
            if user_id is not None
        ]
        return int(rows[0][0]), changed

    @staticmethod
    async def _everyone(session: AsyncSession, since: int) -> list[StoredRow]:
        """Every current row; key and ciphertext only for rows written after `since`."""
        newer = MatchingFeatures.revision > since
        result = await session.execute(
            select(
                MatchingFeatures.user_id,
                MatchingFeatures.revision,
                case((newer, MatchingFeatures.key_id)),
                case((newer, MatchingFeatures.ciphertext)),
            )
            .where(CURRENT)
            .order_by(MatchingFeatures.user_id)
        )
        return [
            (user_id, revision, key_id, ciphertext)
            for user_id, revision, key_id, ciphertext in result
        ]
