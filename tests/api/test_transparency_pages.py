"""The transparency pages: the JSON endpoints' numbers, as HTML a person reads without scripts."""

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import anyio
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.operator import selflink_api
from tests.api.services import unavailable
from tests.servers import demo_server

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


def cents_in(html: str) -> list[int]:
    return [int(value) for value in re.findall(r'data-cents="(-?\d+)"', html)]


def rows_of(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.DOTALL)


@pytest.fixture
async def seeded(client: Client, database_url: str) -> Client:
    """The demo's three months: two locked (one partly paid), one in its dispute window."""
    outcome = await anyio.to_thread.run_sync(
        lambda: selflink_api(database_url, "demo", "--no-serve")
    )
    assert outcome.returncode == 0, outcome.stderr
    return client


async def test_months_page_shows_the_numbers_of_the_json(seeded: Client) -> None:
    periods = (await seeded.get("/api/v1/rewards/periods")).json()
    page = await seeded.get("/transparency")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text
    assert len(periods) == 3
    for month in periods:
        found = re.search(
            rf'<tr id="month-{month["period"]}">(.*?)</tr>', page.text, flags=re.DOTALL
        )
        assert found is not None, month["period"]
        row = found.group(1)
        assert f'<td class="state">{month["state"]}</td>' in row
        assert cents_in(row) == [month["pool_cents"], month["paid_cents"]]
        assert month["root"] in row
        assert (
            f"selflink rewards verify --from http://127.0.0.1:8000 --period {month['period']}"
            in page.text
        )


async def test_month_page_lists_the_bundle_payouts(seeded: Client) -> None:
    for month in (await seeded.get("/api/v1/rewards/periods")).json():
        period = month["period"]
        csv_text = (await seeded.get(f"/api/v1/rewards/periods/{period}/files/payouts.csv")).text
        expected = [
            (line["contributor"], int(line["payout_cents"]))
            for line in csv.DictReader(io.StringIO(csv_text))
        ]
        page = await seeded.get(f"/transparency/{period}")
        assert page.status_code == 200
        shown = [
            (re.findall(r">(github:\d+)</a>", row)[0], cents_in(row)[0])
            for row in rows_of(page.text)
        ]
        assert shown == expected
        assert cents_in(page.text.split("<h2>", 1)[0]) == [
            month["pool_cents"],
            month["paid_cents"],
        ]
        assert month["root"] in page.text


async def test_statement_page_charts_the_monthly_payouts(seeded: Client) -> None:
    contributor = "github:1001"
    statement = (await seeded.get(f"/api/v1/rewards/contributors/{contributor}/statement")).json()
    page = await seeded.get(f"/transparency/contributors/{contributor}")
    assert page.status_code == 200
    assert cents_in(page.text.split("<h2>", 1)[1]) == [
        m["payout_cents"] for m in statement["months"]
    ]
    svg = page.text.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert f'<title id="chart-title">Monthly payouts of {contributor}</title>' in svg
    assert svg.count("<rect") == len(statement["months"]) == 3
    for month in statement["months"]:
        assert f"<title>{month['period']}: " in svg


async def test_unknown_month_or_contributor_is_a_problem_document(client: Client) -> None:
    for url in ("/transparency/2026-10", "/transparency/contributors/github:1", "/transparency/x"):
        response = await client.get(url)
        assert response.headers["content-type"] == "application/problem+json", url
        assert response.status_code in {404, 422}, url
    empty = await client.get("/transparency")
    assert (empty.status_code, "No month has been committed yet." in empty.text) == (200, True)


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium; without its sandbox, which a container's root user cannot have."""
    browser = shutil.which("chromium")
    if browser is None:
        unavailable("chromium", "not installed; `apt-get install -y chromium`")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_a_browser_shows_the_pages_of_a_real_demo_server(tmp_path: Path) -> None:
    assert chromium("--version").returncode == 0  # skips here, before a server starts, if absent
    with demo_server(tmp_path) as running:
        base_url = running.base_url
        contributor = "github:1001"
        statement = httpx.get(f"{base_url}/api/v1/rewards/contributors/{contributor}/statement")
        dom = chromium("--dump-dom", f"{base_url}/transparency/contributors/{contributor}")
        assert dom.returncode == 0, dom.stderr
        payouts = [month["payout_cents"] for month in statement.json()["months"]]
        assert cents_in(dom.stdout.split("<h2>", 1)[1]) == payouts
        assert dom.stdout.count("<rect") == len(payouts)
        screenshot = tmp_path / "transparency.png"
        shot = chromium(
            "--window-size=1200,900", f"--screenshot={screenshot}", f"{base_url}/transparency"
        )
        assert shot.returncode == 0, shot.stderr
        months = httpx.get(f"{base_url}/api/v1/rewards/periods").json()
        page = chromium("--dump-dom", f"{base_url}/transparency").stdout
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert screenshot.stat().st_size > 10_000  # a drawn page, not a blank one
    for month in months:
        assert f"verify --from {base_url} --period {month['period']}" in page
