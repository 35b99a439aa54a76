"""Tables of the system domain."""

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from selflink_api.platform.database import Base


class WorkerHeartbeat(Base):
    """The last time a job runner proved it can take jobs and write to the database."""

    __tablename__ = "worker_heartbeats"

    runner: Mapped[str] = mapped_column(String(32), unique=True)
    beat_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    beats: Mapped[int] = mapped_column(default=0)
