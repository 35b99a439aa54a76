"""Request and response bodies of the accounts API."""

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from selflink_api.accounts.models import MessagePolicy, ProfileVisibility
from selflink_api.platform.values import INT32_MAX

Email = Annotated[str, Meta(min_length=3, max_length=254, examples=["ada@example.org"])]
Password = Annotated[
    str, Meta(min_length=1, max_length=1024, examples=["correct horse battery staple"])
]
Handle = Annotated[
    str,
    Meta(
        pattern=r"^@?[A-Za-z0-9_]{3,30}$",
        description="3 to 30 letters, digits or _; case and a leading @ are ignored.",
        examples=["ada_lovelace"],
    ),
]
DisplayName = Annotated[str, Meta(min_length=1, max_length=80, examples=["Ada Lovelace"])]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
LocalTime = Annotated[
    str,
    Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", examples=["13:45", "06:05:30"]),
]
Longitude = Annotated[float, Meta(ge=-180, le=180)]


class Struct(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know, so typos never pass silently."""


class RegisterRequest(Struct):
    email: Email
    password: Password
    handle: Handle | None = None
    display_name: DisplayName | None = None


class LoginRequest(Struct):
    login: Annotated[
        str,
        Meta(
            min_length=1, max_length=254, description="Email or handle.", examples=["ada_lovelace"]
        ),
    ]
    password: Password


Code = Annotated[
    str,
    Meta(min_length=1, max_length=200, examples=["q9Vx0nL2kE7cYwR4tZbH1sF8mJ3aP6dU5gK0iO2eW7s"]),
]


class RefreshRequest(Struct):
    refresh_token: Code


class PasswordChangeRequest(Struct):
    current_password: Password
    new_password: Password


class PasswordResetRequest(Struct):
    email: Email


class PasswordResetConfirmation(Struct):
    token: Code
    new_password: Password


class EmailVerificationConfirmation(Struct):
    token: Code


class AccountDeletionRequest(Struct):
    password: Password


class BirthData(Struct):
    """A birth as the person knows it; `accounts.birth` checks and normalizes it by the
    engine's input rules, whether it arrives here or at /astro/birth-data."""

    date: Annotated[dt.date, Meta(description="Local date, 1800-01-01..2200-12-31.")]
    time: LocalTime | None = None
    timezone: (
        Annotated[
            str,
            Meta(
                max_length=64,
                examples=["Europe/London"],
                description="IANA zone; looked up from the coordinates when omitted.",
            ),
        ]
        | None
    ) = None
    fold: (
        Annotated[
            Literal[0, 1],
            Meta(description="Which reading of a time a DST change skipped or repeated."),
        ]
        | None
    ) = None
    utc_offset: (
        Annotated[
            str,
            Meta(
                pattern=r"^[+-][0-9]{2}:?[0-9]{2}(:?[0-9]{2})?$",
                examples=["+02:00"],
                description="Explicit offset settling a DST gap or overlap.",
            ),
        ]
        | None
    ) = None
    place: (
        Annotated[
            str,
            Meta(
                max_length=200,
                description="A city name or geonames:ID, resolved when no coordinates are "
                "given; otherwise a free label.",
            ),
        ]
        | None
    ) = None
    country: (
        Annotated[
            str,
            Meta(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2, narrows `place`."),
        ]
        | None
    ) = None
    geonameid: (
        Annotated[int, Meta(ge=1, le=INT32_MAX, description="The GeoNames id of `place`.")] | None
    ) = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class PersonalData(Struct):
    """What `user_pii` holds for one person, encrypted as a whole."""

    email: str
    full_name: str = ""
    phone: str = ""
    birth: BirthData | None = None


class AccountSettings(msgspec.Struct, kw_only=True):
    profile_visibility: ProfileVisibility
    message_policy: MessagePolicy
    discoverable: bool
    locale: str
    timezone: str


class Counts(msgspec.Struct):
    followers: int
    following: int


class PlanEntitlements(msgspec.Struct):
    mentor_daily_quota: int
    recommendation_pages_per_day: int


class AccountPlan(msgspec.Struct, kw_only=True):
    """The plan the person is on now (see docs/payments.md)."""

    plan: str
    tier: str
    status: str
    current_period_end: dt.datetime | None
    cancel_at_period_end: bool
    entitlements: PlanEntitlements


class MyAccount(msgspec.Struct, kw_only=True):
    """The signed-in user's own view: profile, settings and personal data."""

    id: UUID
    handle: str
    display_name: str
    bio: str
    avatar_url: str
    role: str
    email: str
    email_verified: bool
    full_name: str
    phone: str
    birth: BirthData | None
    settings: AccountSettings
    counts: Counts
    plan: AccountPlan | None = None
    """None where no billing domain runs."""
    created_at: dt.datetime


class SessionTokens(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type name
    expires_in: int
    refresh_expires_in: int


class SignedIn(msgspec.Struct, kw_only=True):
    user: MyAccount
    session: SessionTokens


class ProfileUpdate(Struct):
    """Fields to change; omitted fields stay as they are."""

    display_name: DisplayName | UnsetType = UNSET
    bio: Annotated[str, Meta(max_length=500)] | UnsetType = UNSET
    avatar_url: Annotated[str, Meta(max_length=500, pattern=r"^(https://\S+)?$")] | UnsetType = (
        UNSET
    )
    profile_visibility: ProfileVisibility | UnsetType = UNSET
    message_policy: MessagePolicy | UnsetType = UNSET
    discoverable: bool | UnsetType = UNSET
    locale: Annotated[str, Meta(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")] | UnsetType = UNSET
    timezone: Annotated[str, Meta(max_length=64)] | UnsetType = UNSET
    full_name: Annotated[str, Meta(max_length=200)] | UnsetType = UNSET
    phone: Annotated[str, Meta(max_length=32, pattern=r"^(\+?[0-9 ()-]{4,32})?$")] | UnsetType = (
        UNSET
    )
    birth: BirthData | UnsetType | None = UNSET


class PublicProfile(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What anyone may see of a person; never email or other personal data."""

    handle: str
    display_name: str
    restricted: bool
    bio: str = ""
    avatar_url: str = ""
    counts: Counts | None = None
    is_following: bool | None = None
    follows_you: bool | None = None
    joined_at: dt.datetime | None = None


class PersonalDataForStaff(msgspec.Struct, kw_only=True):
    handle: str
    email: str
    full_name: str
    phone: str
    birth: BirthData | None
    status: str
    role: str


class HeldEmail(msgspec.Struct, kw_only=True):
    """An email held because no SMTP server is configured (staff view, never in production)."""

    id: str
    kind: str
    created_at: dt.datetime
    to: str
    subject: str
    body: str
