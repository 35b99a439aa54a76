"""Defaults per kind and channel, and quiet hours in the person's own time zone."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from selflink_api.notifications.models import NotificationKind as Kind

Channels = tuple[bool, bool, bool]
"""(in_app, push, email)."""

DEFAULTS: dict[str, Channels] = {
    Kind.FOLLOW: (True, True, False),
    Kind.LIKE: (True, False, False),
    Kind.COMMENT: (True, True, False),
    Kind.REPLY: (True, True, False),
    Kind.MENTION: (True, True, False),
    Kind.MESSAGE: (True, True, False),
    Kind.MATCH: (True, False, False),
    Kind.PAYOUT: (True, True, False),
    Kind.MODERATION: (True, True, False),
}
"""Everything in the app; push for what someone did to or for you, not likes or matches;
email (the daily digest) only for those who opt in."""

UNMUTABLE = frozenset({Kind.MODERATION, Kind.PAYOUT})
"""Kinds with no other person behind them: mutes and blocks cannot suppress them."""


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, in UTC; a wall time skipped by a DST change moves forward by
    the size of the gap (02:30 on a spring-forward night is 03:30), as a clock would show."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)  # fold=0 does exactly that


def quiet_until(now: datetime, zone_name: str, start: time, end: time) -> datetime | None:
    """When the quiet window holding `now` ends (UTC), or None when `now` is not in one.

    The window is wall-clock time in the person's zone: 22:00-07:00 ends at 07:00 local time on
    the next morning whatever the offset did overnight. `start == end` means no window.
    """
    if start == end:
        return None
    zone = ZoneInfo(zone_name)
    today = now.astimezone(zone).date()
    for day in (today - timedelta(days=1), today):
        begins = _local(day, start, zone)
        ends = _local(day + timedelta(days=1) if end < start else day, end, zone)
        if begins <= now < ends:
            return ends
    return None
