"""Tables of the astro domain: the natal chart cache.

A chart is derived from birth data, which is personal data, so a cached chart is stored
encrypted like the birth data itself and found by a keyed hash of its `input_hash`: the table
holds no date, time, place or hash in clear. Birth data stays in `user_pii`.
"""

from uuid import UUID

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class CachedChart(Base):
    """One person's natal chart for one set of chart options (at most one row per set).

    `input_hash_index` is HMAC-SHA256 of the chart's `input_hash`, which covers the birth data,
    the options, the ephemeris and the rules version; a row answers only when it equals the
    index of the hash the current birth data gives. `rules_version`, `ephemeris` and `key_id`
    say what it was computed and sealed with, so stale rows can be found and recomputed.
    """

    __tablename__ = "astro_chart_cache"
    __table_args__ = (UniqueConstraint("user_id", "options_key"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    options_key: Mapped[str] = mapped_column(String(200))
    input_hash_index: Mapped[str] = mapped_column(String(64))
    rules_version: Mapped[str] = mapped_column(String(32))
    ephemeris: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
