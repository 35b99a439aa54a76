"""`selflink-api demo`: one command from a fresh clone to a filled, running SelfLink."""

import errno
import io
import json
import os
import socket
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import anyio
import click
import uvicorn
from litestar import Litestar
from litestar.cli._utils import LitestarEnv
from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts import schemas
from selflink_api.accounts.birth import ephemeris_source
from selflink_api.accounts.commands import account_service
from selflink_api.accounts.models import Role, User
from selflink_api.content.media_services import MediaService, make_thumbnails_for
from selflink_api.content.models import Post
from selflink_api.content.schemas import CommentDraft, PostDraft
from selflink_api.content.services import ContentService
from selflink_api.matching.models import MatchingPreferences
from selflink_api.matching.schemas import DatingPreferences, PreferencesDocument
from selflink_api.matching.services import FeatureStore, PreferencesStore, checked_preferences
from selflink_api.platform.commands import run_in_session
from selflink_api.platform.database import build_sqlalchemy_config, upgrade_schema
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.uploads import SNIFF_BYTES, ReceivedFile
from selflink_api.rewards.ledger import LedgerService
from selflink_api.rewards.models import RewardContributor
from selflink_api.rewards.payouts import PayoutService
from selflink_api.rewards.snapshots import SnapshotService, utc_now
from selflink_api.rewards.states import PayoutState
from selflink_api.social.models import Follow
from selflink_core.rewards import Figures, Scored, score_pull_request

if TYPE_CHECKING:
    from selflink_api.settings import Settings

DEMO_PASSWORD = "selflink demo passphrase"  # noqa: S105 - published on purpose, demo data only

# handle, display name, bio, birth date, time, place, latitude, longitude, zone
PEOPLE = (
    ("ada", "Ada Quill", "Numbers are poems that compute.", "1990-12-10", "13:45", "London", 51.5074, -0.1278, "Europe/London"),
    ("bruno", "Bruno Sato", "Night owl, day dreamer.", "1988-03-21", "04:10", "Tokyo", 35.6762, 139.6503, "Asia/Tokyo"),
    ("chiara", "Chiara Neri", "Cellist and amateur astronomer.", "1993-07-02", "22:30", "Rome", 41.9028, 12.4964, "Europe/Rome"),
    ("devan", "Devan Rao", "Building things that last.", "1985-11-14", "06:05", "Mumbai", 19.0760, 72.8777, "Asia/Kolkata"),
    ("elena", "Elena Duarte", "Cartographer of small joys.", "1996-05-30", None, "Lisbon", 38.7223, -9.1393, "Europe/Lisbon"),
    ("femi", "Femi Adeyemi", "Music first, then everything.", "1991-01-08", "17:20", "Lagos", 6.5244, 3.3792, "Africa/Lagos"),
    ("greta", "Greta Lind", "Cold water, warm heart.", "1987-09-17", "09:00", "Stockholm", 59.3293, 18.0686, "Europe/Stockholm"),
    ("hugo", "Hugo Marchand", "Baker. Reader. Walker.", "1994-02-26", "11:11", "Lyon", 45.7640, 4.8357, "Europe/Paris"),
    ("ines", "Inés Robles", "Learning a language a year.", "1999-08-08", "08:08", "Mexico City", 19.4326, -99.1332, "America/Mexico_City"),
    ("jun", "Jun Park", "Climbing walls, literal ones.", "1992-10-03", "19:45", "Seoul", 37.5665, 126.9780, "Asia/Seoul"),
    ("kai", "Kai Nakoa", "Tides and timetables.", "1989-06-21", "05:55", "Honolulu", 21.3069, -157.8583, "Pacific/Honolulu"),
    ("lena", "Lena Vogel", "Always one more chapter.", "1997-04-12", "15:30", "Berlin", 52.5200, 13.4050, "Europe/Berlin"),
)  # fmt: skip

# handle: gender, interested in, age range (None: friends only), values, love languages,
# interests, lifestyle (smoking, drinking, exercise, diet, sleep, social, children, pets)
MATCHING = {
    "ada": ("woman", ("man", "nonbinary"), (30, 45), ("honesty", "learning", "creativity", "humor"), ("quality_time",), ("books", "science", "poetry", "coffee", "hiking"), ("never", "socially", "often", "flexitarian", "early_bird", "balanced", "unsure", "pet_lover")),
    "bruno": ("man", ("woman",), (28, 40), ("freedom", "creativity", "humor"), ("quality_time", "physical_touch"), ("music", "film", "photography", "coffee"), ("never", "socially", "sometimes", "omnivore", "night_owl", "outgoing", "yes", "open")),
    "chiara": ("woman", ("woman", "man"), (28, 40), ("creativity", "family", "honesty"), ("words_of_affirmation",), ("music", "astrology", "theatre", "books"), ("never", "socially", "sometimes", "vegetarian", "night_owl", "balanced", "yes", "pet_lover")),
    "devan": ("man", ("woman",), (30, 45), ("stability", "family", "ambition", "loyalty"), ("acts_of_service",), ("technology", "cooking", "history", "running"), ("never", "never", "daily", "vegetarian", "early_bird", "homebody", "yes", "open")),
    "elena": ("woman", ("man",), (27, 40), ("adventure", "nature", "honesty"), ("quality_time", "receiving_gifts"), ("travel", "hiking", "photography", "gardening"), ("never", "socially", "often", "omnivore", "flexible", "outgoing", "unsure", "pet_lover")),
    "femi": ("man", ("woman", "man"), (28, 42), ("community", "creativity", "humor", "growth"), ("words_of_affirmation", "physical_touch"), ("music", "dance", "fashion", "film"), ("sometimes", "socially", "often", "omnivore", "night_owl", "outgoing", "yes", "no_pets")),
    "greta": (None, (), None, ("nature", "health", "independence"), ("acts_of_service",), ("swimming", "hiking", "meditation", "yoga"), ("never", "socially", "daily", "vegan", "early_bird", "balanced", "no", "pet_lover")),
    "hugo": ("man", ("woman",), (27, 38), ("tradition", "family", "loyalty"), ("acts_of_service", "quality_time"), ("cooking", "books", "history", "coffee"), ("never", "regularly", "sometimes", "omnivore", "early_bird", "homebody", "yes", "open")),
    "ines": ("nonbinary", ("woman", "man", "nonbinary"), (24, 35), ("learning", "growth", "justice", "humor"), ("quality_time",), ("languages", "travel", "podcasts", "writing"), ("never", "socially", "sometimes", "vegan", "flexible", "outgoing", "unsure", "open")),
    "jun": ("man", ("woman",), (26, 38), ("ambition", "health", "loyalty"), ("physical_touch",), ("climbing", "fitness", "gaming", "technology"), ("never", "socially", "daily", "omnivore", "night_owl", "balanced", "unsure", "no_pets")),
    "kai": (None, (), None, ("nature", "spirituality", "freedom"), ("quality_time",), ("swimming", "meditation", "astrology", "music"), ("never", "never", "often", "flexitarian", "early_bird", "balanced", "no", "pet_lover")),
    "lena": ("woman", ("man", "woman"), (25, 35), ("learning", "honesty", "compassion"), ("words_of_affirmation", "quality_time"), ("books", "writing", "poetry", "film", "coffee"), ("never", "socially", "rarely", "vegetarian", "night_owl", "homebody", "unsure", "pet_lover")),
}  # fmt: skip
LIFESTYLE_QUESTIONS = (
    "smoking",
    "drinking",
    "exercise",
    "diet",
    "sleep",
    "social",
    "children",
    "pets",
)


def demo_preferences(handle: str) -> PreferencesDocument:
    gender, wanted, ages, values, love_languages, interests, lifestyle = MATCHING[handle]
    dating = None
    if gender is not None and ages is not None:
        dating = DatingPreferences(
            gender=gender, interested_in=list(wanted), age_min=ages[0], age_max=ages[1]
        )
    return checked_preferences(
        PreferencesDocument(
            modes=["dating", "friends"] if dating else ["friends"],
            dating=dating,
            values=list(values),
            love_languages=list(love_languages),
            lifestyle=dict(zip(LIFESTYLE_QUESTIONS, lifestyle, strict=True)),
            interests=list(interests),
        )
    )


async def seed_matching(app: Litestar, session: AsyncSession) -> bool:
    """Matching preferences and features of the demo people, unless they already have them."""
    found = await session.execute(select(User.handle, User.id).where(User.handle.in_(MATCHING)))
    people = {row.handle: row.id for row in found}
    taken = await session.scalar(
        select(MatchingPreferences.id).where(MatchingPreferences.user_id.in_(people.values()))
    )
    if taken is not None:
        return False
    cipher = app.state.accounts.cipher
    preferences = PreferencesStore(session, cipher)
    for handle, user_id in people.items():
        await preferences.save(user_id, demo_preferences(handle))
    ephemeris = ephemeris_source(app.state.settings)
    await FeatureStore(session, cipher, ephemeris).refresh(list(people.values()))
    return True


async def seed(app: Litestar, session: AsyncSession) -> bool:
    """Add the demo people and their follows, unless they are already there."""
    if await session.scalar(select(User.id).where(User.handle == "ada")) is not None:
        return False
    accounts = account_service(app, session)
    users = []
    for handle, name, bio, day, time, place, lat, lon, zone in PEOPLE:
        user = await accounts.create_account(
            email=f"{handle}@example.com",
            password=DEMO_PASSWORD,
            handle=handle,
            display_name=name,
            role=Role.ADMIN if handle == "ada" else Role.USER,
            verified=True,
        )
        user.bio, user.discoverable = bio, True
        birth = schemas.BirthData(
            date=date.fromisoformat(day),
            time=time,
            place=place,
            latitude=lat,
            longitude=lon,
            timezone=zone,
        )
        personal = schemas.PersonalData(email=f"{handle}@example.com", full_name=name, birth=birth)
        await accounts.personal_data.save(user.id, personal)
        users.append(user)
    for index, user in enumerate(users):  # everyone follows the next three people
        for step in (1, 2, 3):
            session.add(
                Follow(follower_id=user.id, followee_id=users[(index + step) % len(users)].id)
            )
    await session.flush()
    await seed_rewards(session, users)
    return True


# handle: what they post (oldest first); "@x" mentions are resolved like any other post's.
POSTS = {
    "ada": ("Proved a small lemma before breakfast. Coffee tastes better after.", "Anyone else reading about Venus transits tonight? @chiara you must know."),
    "bruno": ("3 a.m. photo walk through Shimokitazawa. The city hums differently at night.",),
    "chiara": ("Saturn is gorgeous this week: rings tilted just right for a small telescope.", "Practised the Bach suite until the neighbours applauded (or complained)."),
    "devan": ("Shipped the thing. Now resting the thing (me).",),
    "elena": ("Mapped every bakery in Alfama by smell alone. Results soon.",),
    "femi": ("New track is done. Afrobeat meets a cello sample — thanks @chiara for the idea!",),
    "greta": ("Sea swim at 6 °C. Heart: warm. Toes: debatable.",),
    "hugo": ("Sourdough day 312: the starter has opinions now.",),
    "ines": ("Día 40 de coreano: puedo pedir café y disculparme. Progreso.",),
    "jun": ("Finally sent the overhang route I have been projecting for a month.",),
    "kai": ("Low tide at 05:12, sunrise at 06:40. Timetables are poetry too, @ada.",),
    "lena": ("One more chapter, I said, four chapters ago.",),
}  # fmt: skip
PHOTOS = {  # handle: the colours of the picture on their first post (sky, sea or ground, sun)
    "bruno": ((18, 22, 60), (40, 40, 70), (250, 200, 90)),
    "chiara": ((8, 10, 30), (20, 20, 40), (230, 200, 140)),
    "greta": ((150, 190, 230), (30, 90, 140), (255, 240, 200)),
    "hugo": ((240, 220, 190), (170, 110, 60), (255, 250, 240)),
}


def demo_photo(sky: tuple[int, ...], ground: tuple[int, ...], sun: tuple[int, ...]) -> bytes:
    """A small generated landscape (JPEG): a sky fading into the ground, and a sun."""
    image = Image.new("RGB", (960, 640), sky)
    draw = ImageDraw.Draw(image)
    for y in range(320, 640):
        share = (y - 320) / 320
        colour = tuple(round(a + (b - a) * share) for a, b in zip(sky, ground, strict=True))
        draw.line([(0, y), (960, y)], fill=colour)
    draw.ellipse([620, 120, 760, 260], fill=sun)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


async def upload_demo_photo(app: Litestar, session: AsyncSession, owner: UUID, handle: str) -> UUID:
    """Upload a generated photo as `owner` would, thumbnails included."""
    media = app.state.content.media
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo.jpg"
        data = demo_photo(*PHOTOS[handle])
        path.write_bytes(data)
        received = ReceivedFile(path=path, size=len(data), head=data[:SNIFF_BYTES])
        view = await MediaService(session, media).upload(owner, received)
    await make_thumbnails_for(session, media.backend, view.id)
    return view.id


COMMENTS = (  # (who, on whose first post, text)
    ("chiara", "ada", "Both! Which lemma?"),
    ("bruno", "hugo", "Send a loaf to Tokyo please."),
    ("ada", "femi", "Playing it on repeat."),
    ("lena", "elena", "I need this map."),
    ("devan", "jun", "Congratulations!"),
)


async def seed_content(app: Litestar, session: AsyncSession) -> bool:
    """The demo people's posts, a few comments and likes, unless they already posted."""
    found = await session.execute(select(User.handle, User.id).where(User.handle.in_(POSTS)))
    people = {row.handle: row.id for row in found}
    # Seeding announces nothing: no events, so nobody is notified of demo activity.
    content = ContentService(
        session, EventBus({}), JobQueue(app.state.job_runner), app.state.content.media.urls
    )
    if await session.scalar(select(Post.id).where(Post.author_id.in_(people.values())).limit(1)):
        return False
    first: dict[str, str] = {}
    for handle, texts in POSTS.items():
        for text in texts:
            photo = handle in PHOTOS and handle not in first
            media = [await upload_demo_photo(app, session, people[handle], handle)] if photo else []
            post = await content.create_post(people[handle], PostDraft(text=text, media=media))
            first.setdefault(handle, str(post.id))
    for who, whose, text in COMMENTS:
        await content.add_comment(people[who], UUID(first[whose]), CommentDraft(text=text))
    handles = list(POSTS)
    for index, handle in enumerate(handles):  # each person likes the next two people's first posts
        for step in (1, 2):
            await content.like_post(
                people[handle], UUID(first[handles[(index + step) % len(handles)]])
            )
    return True


DEMO_MONTHS = ("2026-08", "2026-09", "2026-10")
DEMO_SIZES = ("size:xs", "size:s", "size:m", "size:l", "size:xl")
DEMO_FIGURES = {
    "2026-08": (420_000, 120_000),
    "2026-09": (510_000, 130_000),
    "2026-10": (480_000, 125_000),
}


async def seed_rewards(session: AsyncSession, users: list[User]) -> None:
    """Three months of merged pull requests: two locked and partly paid, one in its dispute window."""
    ledger = LedgerService(session)
    authors = [1000 + n for n in range(1, 9)]  # GitHub ids; the first four belong to demo people
    number = 0
    for month_index, month in enumerate(DEMO_MONTHS):
        for day in range(1, 21):
            number += 1
            author = authors[(number * 7 + month_index) % len(authors)]
            labels = [DEMO_SIZES[number % len(DEMO_SIZES)]]
            if number % 9 == 0:
                labels.append("bonus:security")
            merged_at = f"{month}-{day:02d}T{9 + day % 8:02d}:15:00Z"
            scored = score_pull_request(demo_pull_request(number, author, merged_at, labels))
            if isinstance(scored, Scored):
                await ledger.append(scored.draft, appended_by="demo")
    for user, github_id in zip(users[:4], authors[:4], strict=True):
        contributor = await session.scalar(
            select(RewardContributor).where(RewardContributor.key == f"github:{github_id}")
        )
        assert contributor is not None  # created by its first event
        contributor.user_id, contributor.linked_at = user.id, utc_now()
    await session.flush()
    snapshots, payouts = SnapshotService(session), PayoutService(session)
    for month in DEMO_MONTHS:
        revenue, costs = DEMO_FIGURES[month]
        figures = Figures("USD", revenue, costs, 5000, 1000)
        await snapshots.commit(month, figures, actor="demo", dispute_days=7, now=utc_now())
        if month != DEMO_MONTHS[-1]:
            await snapshots.lock(month, actor="demo", now=utc_now(), force=True)
    for payout in await payouts.find(period=DEMO_MONTHS[0], state="pending"):
        for to, reference in (
            (PayoutState.PROCESSING, ""),
            (PayoutState.PAID, f"DEMO-{payout.period}"),
        ):
            await payouts.transition(
                payout.id,
                to,
                actor="demo",
                actor_id=None,
                method="bank_transfer",
                external_ref=reference,
            )


def refuse_unusable_address(host: str, port: int) -> None:
    """Fail before seeding and printing sign-in help for a server that could never start."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, protocol) as probe:
            # Uvicorn sets SO_REUSEADDR too: a port whose last connections linger is free to it.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        reason = (
            f"port {port} is in use on {host}; pass --port"
            if exc.errno == errno.EADDRINUSE
            else f"cannot listen on {host} port {port}: {exc.strerror or exc}"
        )
        click.echo(f"error: {reason}", err=True)
        sys.exit(2)


def demo_pull_request(number: int, author: int, merged_at: str, labels: list[str]) -> bytes:
    repo = "selflink/selflink"
    pull = {
        "number": number,
        "html_url": f"https://github.com/{repo}/pull/{number}",
        "merged": True,
        "merged_at": merged_at,
        "user": {"id": author, "login": f"dev{author}", "type": "User"},
        "labels": [{"name": name} for name in labels],
        "base": {"repo": {"full_name": repo}},
    }
    return json.dumps({"action": "closed", "number": number, "pull_request": pull}).encode()


def app_serving_at(app: Litestar, base: str) -> Litestar:
    """`app`, or the app loaded again with PUBLIC_BASE_URL = `base` when the environment
    leaves it unset: links the server hands out (media, e-mails) then name the host and port
    the demo really serves, not the default port 8000. Loaded the way Litestar's command line
    loaded `app` (LITESTAR_APP), since the app's module imports this command."""
    settings: Settings = app.state.settings
    if "public_base_url" in settings.model_fields_set:
        return app
    os.environ["PUBLIC_BASE_URL"] = base
    return LitestarEnv.from_env(None).app


@click.command(name="demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve after seeding.")
def demo(app: Litestar, host: str, port: int, serve: bool) -> None:
    """Migrate, seed a dozen demo people (once), print how to sign in, and serve."""
    if serve:
        refuse_unusable_address(host, port)
    base = f"http://{host}:{port}"
    app = app_serving_at(app, base)
    config = build_sqlalchemy_config(app.state.settings)
    try:
        upgrade_schema(config)
    finally:
        anyio.run(config.get_engine().dispose)

    async def seed_in(session: AsyncSession) -> tuple[bool, bool, bool]:
        return (
            await seed(app, session),
            await seed_matching(app, session),
            await seed_content(app, session),
        )

    created, matched, posted = run_in_session(app, seed_in)
    click.echo(
        ("Seeded" if created else "Already seeded:")
        + f" {len(PEOPLE)} demo people (@ada is an admin)."
    )
    if matched:
        click.echo(f"Seeded the matching preferences of {len(MATCHING)} demo people.")
    if posted:
        click.echo(
            f"Seeded {sum(map(len, POSTS.values()))} posts ({len(PHOTOS)} with a photo), "
            "comments and likes."
        )
    click.echo(f"Password of every demo account: {DEMO_PASSWORD!r}")
    click.echo("Sign in:")
    click.echo(
        f"  curl -s -X POST {base}/api/v1/auth/login -H 'content-type: application/json' "
        f"""-d '{{"login": "ada", "password": "{DEMO_PASSWORD}"}}'"""
    )
    click.echo(
        f"Recommendations (with the token): {base}/api/v1/matching/recommendations?mode=dating"
    )
    click.echo(f"Home feed (with the token): {base}/api/v1/feed/home")
    click.echo(f"Rewards transparency: {base}/transparency (JSON: {base}/api/v1/rewards/periods)")
    click.echo(f"API docs: {base}/schema")
    if serve:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,
            proxy_headers=False,
            ws_per_message_deflate=app.state.settings.realtime_compression,
        )
