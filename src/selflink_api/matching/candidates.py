"""The candidate pool: every stored features record, decrypted and turned into a
`CandidateMatrix` once, kept in this process while the features revision stays the same.

Why a cache: decoding the pool costs a query over every features row plus one AES-GCM
decryption each (about 1 µs) and building the matrix, some 30 ms for 10,000 people, several
times the ranking itself. The pool changes only when a features row is written or deleted,
and every such transaction increments `matching_revision` (see `MatchingRevision`), so one
single-row read per request tells whether the pool is current. When it is not, only rows
written after the cached revision are fetched and decrypted; rows that disappeared are
dropped. Who may be shown (active, discoverable, blocks, mutes) is never cached: it is read
per request, as it changes outside this domain.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import anyio
import numpy as np
import numpy.typing as npt
import structlog
from sqlalchemy import case, select
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


def features_context(user_id: UUID) -> bytes:
    """The associated data binding a features record to its owner, rules and layout."""
    return b"matching_features:" + user_id.bytes + f":{RULES_VERSION}:{LAYOUT}".encode()


@dataclass(frozen=True)
class CandidatePool:
    """Everyone with current features, in user-id order."""

    revision: int
    user_ids: tuple[UUID, ...]
    keys: npt.NDArray[np.str_]  # the user ids as strings: `select_page`'s stable keys
    positions: dict[UUID, int]
    row_revisions: npt.NDArray[np.int64]
    records: Records
    matrix: CandidateMatrix

    @classmethod
    def empty(cls) -> "CandidatePool":
        records = np.zeros(0, dtype=RECORD)
        return cls(
            revision=-1,
            user_ids=(),
            keys=np.zeros(0, dtype=np.str_),
            positions={},
            row_revisions=np.zeros(0, dtype=np.int64),
            records=records,
            matrix=CandidateMatrix.from_frame(records_frame(records)),
        )

    def __len__(self) -> int:
        return len(self.user_ids)


def merge_pool(
    previous: CandidatePool, revision: int, rows: Sequence[StoredRow], cipher: PersonalDataCipher
) -> CandidatePool:
    """The pool after `rows` (every current row, in user-id order): unchanged rows are copied
    from `previous`, newer ones decrypted; a row that cannot be decrypted is left out (its
    owner's features are recomputed by the stale-features job)."""
    user_ids: list[UUID] = []
    revisions: list[int] = []
    kept_from: list[int] = []  # positions in `previous`, or -1 for a decrypted record
    fresh: list[bytes] = []
    for user_id, row_revision, key_id, ciphertext in rows:
        if key_id is None or ciphertext is None:
            position = previous.positions.get(user_id)
            if position is None or previous.row_revisions[position] != row_revision:
                continue  # skipped as undecryptable before: still unusable
            kept_from.append(position)
        else:
            try:
                plaintext = cipher.decrypt(
                    Encrypted(key_id, ciphertext), context=features_context(user_id)
                )
            except (UnknownKeyError, DecryptionError):
                logger.warning("matching_features_unreadable", user_id=str(user_id))
                continue
            if len(plaintext) != RECORD.itemsize:
                continue
            kept_from.append(-1)
            fresh.append(plaintext)
        user_ids.append(user_id)
        revisions.append(row_revision)
    records = np.zeros(len(user_ids), dtype=RECORD)
    origin = np.array(kept_from, dtype=np.int64)
    copied = origin >= 0
    records[copied] = previous.records[origin[copied]]
    records[~copied] = decode_records(fresh)
    return CandidatePool(
        revision=revision,
        user_ids=tuple(user_ids),
        keys=np.array([str(user_id) for user_id in user_ids], dtype=np.str_),
        positions={user_id: index for index, user_id in enumerate(user_ids)},
        row_revisions=np.array(revisions, dtype=np.int64),
        records=records,
        matrix=CandidateMatrix.from_frame(records_frame(records)),
    )


async def current_revision(session: AsyncSession) -> int:
    return int(await session.scalar(select(MatchingRevision.revision)) or 0)


class CandidateCache:
    """The process's candidate pool, refreshed when the features revision moves."""

    def __init__(self, cipher: PersonalDataCipher) -> None:
        self.cipher = cipher
        self._pool = CandidatePool.empty()
        self._lock = anyio.Lock()

    async def pool(self, session: AsyncSession) -> CandidatePool:
        revision = await current_revision(session)
        if self._pool.revision >= revision:
            return self._pool
        async with self._lock:
            previous = self._pool
            if previous.revision >= revision:
                return previous
            newer = MatchingFeatures.revision > previous.revision
            result = await session.execute(
                select(
                    MatchingFeatures.user_id,
                    MatchingFeatures.revision,
                    case((newer, MatchingFeatures.key_id)),
                    case((newer, MatchingFeatures.ciphertext)),
                )
                .where(
                    MatchingFeatures.rules_version == RULES_VERSION,
                    MatchingFeatures.layout == LAYOUT,
                )
                .order_by(MatchingFeatures.user_id)
            )
            rows: list[StoredRow] = [
                (user_id, revision, key_id, ciphertext)
                for user_id, revision, key_id, ciphertext in result
            ]
            self._pool = await anyio.to_thread.run_sync(
                merge_pool, previous, revision, rows, self.cipher
            )
            return self._pool
