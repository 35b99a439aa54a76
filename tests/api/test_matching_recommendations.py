"""Recommendations: who may be shown, the mutual dating filter, ranking, diverse pages with a
stable cursor, and a candidate pool that follows every change."""

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from selflink_api.accounts.models import NOT_SHOWN, User
from selflink_api.matching import candidates, services
from selflink_api.settings import Settings
from selflink_core.matching import load_rules
from tests.api.astro_helpers import Client, put_birth
from tests.api.conftest import drain_jobs
from tests.api.matching_helpers import (
    PREFERENCES,
    RECOMMENDATIONS,
    born,
    dating,
    handles,
    join,
    patch_preferences,
    recommendations,
)
from tests.api.people import register
from tests.api.test_auth import sql
from tests.api.test_database_reads import statements_run

pytestmark = pytest.mark.anyio

SHARED = {"values": ["honesty", "humor"], "interests": ["hiking", "books"]}


def born_years_ago(years: int) -> dict[str, Any]:
    """A birth on January 1st, `years` years before this (UTC) year: that age all year."""
    return born(f"{dt.datetime.now(dt.UTC).year - years}-01-01")


async def test_friends_see_only_people_open_to_them_best_first(
    client: Client, settings: Settings
) -> None:
    asker = await join(client, "asker", birth=born("1990-05-17"), **SHARED)
    for handle, birth in (("close", "1992-07-08"), ("closer", "1990-05-20"), ("far", "1979-01-30")):
        await join(client, handle, birth=born(birth), **SHARED)
    await join(client, "hidden", discoverable=False, **SHARED)
    await join(client, "dater_only", modes=["dating"], dating=dating("man", "woman"), **SHARED)
    await join(client, "nothing_shared")  # no birth data, no answers: lens "none"
    blocker = await join(client, "blocker", **SHARED)
    await join(client, "blocked", **SHARED)
    await join(client, "muted", **SHARED)
    await join(client, "suspended", **SHARED)
    await register(client, "not_taking_part")
    await client.post("/api/v1/users/asker/block", headers=blocker.headers)
    await client.post("/api/v1/users/blocked/block", headers=asker.headers)
    await client.post("/api/v1/users/muted/mute", headers=asker.headers)
    await sql(settings, "UPDATE users SET status = 'suspended' WHERE handle = 'suspended'")
    await drain_jobs(client)

    page = await recommendations(client, asker, mode="friends")
    assert page["mode"] == "friends"
    assert page["next_cursor"] is None
    items = page["items"]
    assert sorted(item["handle"] for item in items) == ["close", "closer", "far"]
    scores = [(item["ranking_score"], item["handle"]) for item in items]
    assert scores == sorted(scores, key=lambda pair: -pair[0])
    for item in items:
        explained = (
            await client.get(f"/api/v1/matching/with/{item['handle']}", headers=asker.headers)
        ).json()
        assert item["display_name"] == item["handle"]
        for key in ("total", "ranking_score", "lens", "scores", "reasons"):
            assert item[key] == explained[key]
        assert 1 <= len(item["reasons"]) <= 3
    again = await recommendations(client, asker, mode="friends")
    assert again == page

    await client.patch("/api/v1/users/me", headers=asker.headers, json={"discoverable": False})
    hidden = await client.get(RECOMMENDATIONS, headers=asker.headers, params={"mode": "friends"})
    assert hidden.status_code == 409  # only people who can be seen see others
    assert "discoverable" in hidden.json()["detail"]


async def test_dating_needs_mutual_interest_and_ages(client: Client) -> None:
    asker = await join(
        client,
        "asker",
        birth=born_years_ago(36),
        modes=["dating", "friends"],
        dating=dating("woman", "man", "nonbinary", age_min=25, age_max=40),
        **SHARED,
    )

    async def dater(
        handle: str, age: int | None, preferences: dict[str, Any], **extra: Any
    ) -> None:
        birth = None if age is None else born_years_ago(age)
        await join(
            client, handle, birth=birth, modes=["dating"], dating=preferences, **SHARED, **extra
        )

    await dater("match", 30, dating("man", "woman", age_min=30, age_max=45))
    await dater("match_too", 40, dating("nonbinary", "woman", "man"))
    await dater("edge_of_her_range", 25, dating("man", "woman", age_min=36, age_max=36))
    await dater("wrong_gender", 30, dating("woman", "man", "woman"))
    await dater("not_into_her", 30, dating("man", "man"))
    await dater("too_young_for_her", 24, dating("man", "woman"))
    await dater("she_is_too_old", 30, dating("man", "woman", age_max=35))
    await dater("no_birth_date", None, dating("man", "woman"))
    await join(client, "friends_only", birth=born_years_ago(30), **SHARED)

    assert sorted(await handles(client, asker, "dating")) == [
        "edge_of_her_range",
        "match",
        "match_too",
    ]
    assert await handles(client, asker, "friends") == ["friends_only"]

    newcomer = await join(client, "newcomer", modes=["dating"], dating=dating("man", "woman"))
    await drain_jobs(client)
    no_birth = await client.get(
        RECOMMENDATIONS, headers=newcomer.headers, params={"mode": "dating"}
    )
    assert no_birth.status_code == 409
    assert "birth date" in no_birth.json()["detail"]
    await put_birth(client, newcomer, born_years_ago(17))
    await drain_jobs(client)
    minor = await client.get(RECOMMENDATIONS, headers=newcomer.headers, params={"mode": "dating"})
    assert minor.status_code == 409
    assert "18" in minor.json()["detail"]
    not_in_mode = await client.get(
        RECOMMENDATIONS, headers=newcomer.headers, params={"mode": "friends"}
    )
    assert not_in_mode.status_code == 409


async def test_minors_and_adults_are_never_shown_to_each_other(client: Client) -> None:
    adult = await join(client, "adult", birth=born_years_ago(30), **SHARED)
    unknown_age = await join(client, "unknown_age", **SHARED)
    minor = await join(client, "minor", birth=born_years_ago(15), **SHARED)
    await join(client, "other_minor", birth=born_years_ago(17), **SHARED)
    await join(client, "just_adult", birth=born_years_ago(18), **SHARED)

    assert sorted(await handles(client, adult)) == ["just_adult", "unknown_age"]
    assert sorted(await handles(client, unknown_age)) == ["adult", "just_adult"]
    assert await handles(client, minor) == ["other_minor"]

    async def match_status(person: Any, handle: str) -> int:
        response = await client.get(f"/api/v1/matching/with/{handle}", headers=person.headers)
        return response.status_code

    assert await match_status(minor, "other_minor") == 200
    assert await match_status(adult, "just_adult") == 200
    for person, handle in (
        (adult, "minor"),
        (unknown_age, "minor"),
        (minor, "adult"),
        (minor, "unknown_age"),
    ):
        assert await match_status(person, handle) == 404, handle


async def test_pages_are_diverse_stable_and_refuse_foreign_cursors(client: Client) -> None:
    asker = await join(
        client, "asker", birth=born("1990-05-17"), modes=["friends", "dating"],
        dating=dating("woman", "man"), **SHARED,
    )  # fmt: skip
    for n in range(4):  # charts and answers, only answers, only a birth date
        await join(client, f"chart_{n}", birth=born(f"19{80 + 3 * n}-0{n + 2}-1{n}"), **SHARED)
        await join(
            client, f"words_{n}", values=["honesty"], interests=["books", "yoga"][: n % 2 + 1]
        )
        await join(client, f"date_{n}", birth={"date": f"19{81 + 2 * n}-0{n + 5}-2{n}"})
    await drain_jobs(client)
    everyone = sorted(f"{kind}_{n}" for kind in ("chart", "words", "date") for n in range(4))
    cap = load_rules().pages.lens_cap(5)

    walks = []
    for _ in range(2):
        pages, cursor = [], None
        while True:
            query: dict[str, Any] = {"mode": "friends", "limit": 5}
            if cursor:
                query["cursor"] = cursor
            page = await recommendations(client, asker, **query)
            pages.append(page)
            for lens in {item["lens"] for item in page["items"]}:
                assert sum(item["lens"] == lens for item in page["items"]) <= cap
            cursor = page["next_cursor"]
            if cursor is None:
                break
        walks.append(pages)
    assert walks[0] == walks[1]
    shown = [item["handle"] for page in walks[0] for item in page["items"]]
    assert sorted(shown) == everyone  # nobody twice, nobody left out
    assert len(walks[0]) >= 3

    cursor = walks[0][0]["next_cursor"]
    for bad, params in (
        ("garbage", {"mode": "friends", "cursor": "friends.not-a-cursor"}),
        ("bare core cursor", {"mode": "friends", "cursor": cursor.partition(".")[2]}),
        ("other mode", {"mode": "dating", "cursor": cursor}),
    ):
        response = await client.get(RECOMMENDATIONS, headers=asker.headers, params=params)
        assert response.status_code == 400, bad
        assert response.json()["type"] == "urn:selflink:problem:bad-request"
    # The asker's cursor names a list ranked for the asker: nobody else can read it with it.
    outsider = await join(client, "outsider", birth=born("1991-01-01"), **SHARED)
    await drain_jobs(client)
    assert (await recommendations(client, outsider, mode="friends", limit=5))["items"]
    response = await client.get(
        RECOMMENDATIONS, headers=outsider.headers, params={"mode": "friends", "cursor": cursor}
    )
    assert response.status_code == 400
    assert "start again" in response.json()["detail"]
    for params in ({"mode": "friends", "limit": 4}, {"mode": "romance"}, {}):
        response = await client.get(RECOMMENDATIONS, headers=asker.headers, params=params)
        assert response.status_code in (400, 422), params
        assert response.headers["content-type"] == "application/problem+json"


async def test_the_candidate_pool_follows_every_change(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asker = await join(client, "asker", birth=born("1990-05-17"), **SHARED)
    first = await join(client, "first", **SHARED)
    await drain_jobs(client)
    assert await handles(client, asker) == ["first"]

    def no_reload(*_args: object) -> None:
        raise AssertionError("the pool was decoded again although nothing changed")

    with monkeypatch.context() as patched:
        patched.setattr(candidates, "merge_pool", no_reload)
        assert await handles(client, asker) == ["first"]
        await client.patch("/api/v1/users/me", headers=first.headers, json={"discoverable": False})
        assert await handles(client, asker) == []
        await client.patch("/api/v1/users/me", headers=first.headers, json={"discoverable": True})

    second = await join(client, "second", birth=born("1990-05-18"), **SHARED)
    assert sorted(await handles(client, asker)) == ["first", "second"]
    before = (await recommendations(client, asker, mode="friends"))["items"]
    await patch_preferences(client, second, {"values": ["faith"], "interests": []})
    await drain_jobs(client)
    after = (await recommendations(client, asker, mode="friends"))["items"]
    assert [i for i in after if i["handle"] == "second"] != [
        i for i in before if i["handle"] == "second"
    ]

    assert (await client.delete(PREFERENCES, headers=first.headers)).status_code == 204
    assert await handles(client, asker) == ["second"]
    gone = await client.delete(PREFERENCES, headers=asker.headers)
    assert gone.status_code == 204
    refused = await client.get(RECOMMENDATIONS, headers=asker.headers, params={"mode": "friends"})
    assert refused.status_code == 409


async def test_a_reading_ranks_once_and_later_pages_follow_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    asker = await join(client, "asker", birth=born("1990-05-17"), **SHARED)
    for n in range(6):
        await join(client, f"peer_{n}", birth=born(f"19{84 + n}-0{n + 2}-1{n}"), **SHARED)
    await drain_jobs(client)
    first = await recommendations(client, asker, mode="friends", limit=5)
    shown_first = [item["handle"] for item in first["items"]]
    assert first["next_cursor"] is not None

    def no_ranking(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("ranked again within a reading")

    with monkeypatch.context() as patched:
        patched.setattr(services, "rank", no_ranking)
        patched.setattr(services, "score", no_ranking)
        with statements_run() as statements:
            again = await recommendations(client, asker, mode="friends", limit=5)
        assert again == first  # the same screen, neither ranked nor explained again
        # The sign-in check; the viewer, the pool's revision and their plan; who is hidden
        # from them; the names on the page. The page itself is one read of the store.
        assert len(statements) == 4, statements
    with monkeypatch.context() as patched:
        patched.setattr(services, "rank", no_ranking)
        # A newcomer changes the pool: page 2 still follows the reading page 1 started.
        await join(client, "newcomer", birth=born("1990-05-18"), **SHARED)
        await drain_jobs(client)
        hidden = shown_first[0]
        await client.post(f"/api/v1/users/{hidden}/mute", headers=asker.headers)
        shown_later, cursor = [], first["next_cursor"]
        while cursor is not None:
            page = await recommendations(client, asker, mode="friends", limit=5, cursor=cursor)
            shown_later += [item["handle"] for item in page["items"]]
            cursor = page["next_cursor"]
    assert sorted(shown_first + shown_later) == [f"peer_{n}" for n in range(6)]
    fresh = await recommendations(client, asker, mode="friends", limit=5)
    fresh_handles = [item["handle"] for item in fresh["items"]]
    assert hidden not in fresh_handles  # the mute starts a new reading, with the newcomer
    assert "newcomer" in await handles(client, asker)

    expired = first["next_cursor"].rsplit(".", 2)
    unknown = f"{expired[0]}.{'0' * 32}.1"
    response = await client.get(
        RECOMMENDATIONS, headers=asker.headers, params={"mode": "friends", "cursor": unknown}
    )
    assert response.status_code == 400
    assert "start again" in response.json()["detail"]


async def test_the_accounts_no_one_may_be_shown_are_read_by_their_partial_index(
    settings: Settings,
) -> None:
    """Every page subtracts these accounts: the read's condition must be the partial index's
    own, spelled as each database needs it, or the database scans every account instead.
    (PostgreSQL is asked not to scan, since a small table would be scanned anyway.)"""
    engine = create_async_engine(settings.sqlalchemy_url)
    query = str(select(User.id).where(NOT_SHOWN).compile(dialect=engine.dialect))
    try:
        async with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                await connection.exec_driver_sql("SET enable_seqscan = off")
                plan = await connection.exec_driver_sql(f"EXPLAIN {query}")
            else:
                plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")
            steps = " ".join(str(row[-1]) for row in plan)
    finally:
        await engine.dispose()
    assert "ix_users_not_shown" in steps, steps
