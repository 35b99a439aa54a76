"""Tables of the matching domain.

Both tables hold personal data and store it only encrypted with the personal-data key, bound
to the owner's row: preferences declare gender, whom one wants to meet and values such as
faith (special categories of personal data), and features are derived from birth data (the
longitudes pin down the birth moment). Nothing but ids, versions and revisions is in clear.
"""

from uuid import UUID

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class MatchingPreferences(Base):
    """What a person declared for matching: modes, dating preferences and profile answers, as
    one encrypted JSON document (`schemas.PreferencesDocument`)."""

    __tablename__ = "matching_preferences"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class MatchingFeatures(Base):
    """One person's precomputed features: a fixed-layout binary record (`features.RECORD`),
    encrypted.

    `rules_version` and `layout` say which rules and record layout it was computed for,
    `ephemeris` from which ephemeris files (`EphemerisSource.identity`), `key_id` which key
    sealed it, so stale rows can be found and recomputed. Rows of another ephemeris still
    serve until then: the positions differ by arcseconds, not meaning. `revision` is the
    value of `MatchingRevision` when the row was last written; in-process candidate caches
    reload only rows newer than what they hold.
    """

    __tablename__ = "matching_features"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    rules_version: Mapped[str] = mapped_column(String(32))
    layout: Mapped[int] = mapped_column(SmallInteger)
    ephemeris: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class MatchingRevision(Base):
    """A single row counting writes and deletions of `matching_features`.

    Every transaction that changes features increments it and holds its row lock until the
    commit, so a reader that sees revision R also sees every features row written at or
    before R: a cache holding revision R is current exactly while the counter reads R.
    """

    __tablename__ = "matching_revision"

    revision: Mapped[int] = mapped_column(BigInteger)
