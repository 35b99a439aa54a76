"""`selflink rewards … --from URL` against a real `selflink-api demo` process.

Tampering goes through a mirror: a small HTTP server on loopback, in a thread, that forwards
each request to the demo and alters one answer. The demo starts once for the module.
"""

import contextlib
import dataclasses
import hashlib
import http.server
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from selflink_cli import rewards_output
from selflink_cli.errors import CliError, ExitCode
from selflink_cli.rewards_remote import Remote, check_url
from selflink_core.rewards import (
    BUNDLE_FILES,
    build_bundle,
    period_events_from_lines,
    read_bundle,
)
from tests.cli.conftest import Run
from tests.servers import demo_server

MONTHS = ("2026-08", "2026-09", "2026-10")
FILES = "/api/v1/rewards/periods/{}/files/{}"
LEDGER = "/api/v1/rewards/ledger.jsonl"


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`selflink-api demo` in an empty folder: three committed months, chained."""
    with demo_server(tmp_path_factory.mktemp("demo")) as running:
        yield running.base_url


@dataclasses.dataclass
class Mirror:
    """Forwards to the demo; `alter`, `status`, `delay` and `cut` change one path's answer."""

    upstream: str
    url: str = ""
    alter: dict[str, Callable[[bytes], bytes]] = dataclasses.field(default_factory=dict)
    status: dict[str, int] = dataclasses.field(default_factory=dict)
    delay: dict[str, float] = dataclasses.field(default_factory=dict)
    redirect: dict[str, str] = dataclasses.field(default_factory=dict)
    cut_once: set[str] = dataclasses.field(default_factory=set)
    """Paths whose first answer stops half-way, closing the connection."""
    ranges: list[str] = dataclasses.field(default_factory=list)


def _handler(mirror: Mirror) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            """Quiet: the test output is the CLI's."""

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            time.sleep(mirror.delay.get(path, 0))
            if path in mirror.redirect:
                self.send_response(302)
                self.send_header("Location", mirror.redirect[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path in mirror.status:
                body = b'{"status": %d, "detail": "gone from the mirror"}' % mirror.status[path]
                self.send_response(mirror.status[path])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            body = mirror.alter.get(path, lambda data: data)(_get(mirror.upstream + self.path))
            start = 0
            requested = self.headers.get("Range", "")
            if requested:
                mirror.ranges.append(requested)
                start = int(requested.removeprefix("bytes=").removesuffix("-"))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            if path in mirror.cut_once:
                mirror.cut_once.discard(path)
                self.wfile.write(body[start : len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            with contextlib.suppress(ConnectionError):  # the CLI stops reading at the head
                self.wfile.write(body[start:])

    return Handler


@pytest.fixture
def mirror(demo: str) -> Iterator[Mirror]:
    mirror = Mirror(upstream=demo)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(mirror))
    server.daemon_threads = True
    mirror.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield mirror
    finally:
        server.shutdown()
        server.server_close()


def _verify_all(run: Run, url: str, *extra: object):
    return run("verify", "--from", url, "--all", "--retries", 0, *extra)


def test_every_demo_month_verifies_from_its_url(run: Run, demo: str, tmp_path: Path):
    result = _verify_all(run, demo)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [["verified", m] for m in MONTHS]
    assert lines[3] == f"verified: 3 months from {demo}/api/v1/rewards"
    for month in MONTHS:
        saved = tmp_path / "saved"
        result = run("verify", "--from", demo, "--period", month, "--save", saved)
        assert result.exit_code == 0, result.stderr
        assert "events.jsonl is exactly its 20" in result.stdout
        assert result.stdout.splitlines()[-1].startswith(
            f"verified: {demo}/api/v1/rewards/periods/{month}/files ({month}), root "
        )
        previous = (
            [] if month == MONTHS[0] else ["--previous", saved / MONTHS[MONTHS.index(month) - 1]]
        )
        local = run("verify", saved / month, *previous, "--ledger", saved / "ledger.jsonl")
        assert local.exit_code == 0, local.stderr
        assert local.stdout.splitlines()[-1].split()[-1] == result.stdout.split()[-1]


@pytest.mark.parametrize("quiet", [[], ["--quiet"]])
def test_the_ledger_download_shows_progress_on_a_terminal(
    run: Run, demo: str, monkeypatch: pytest.MonkeyPatch, quiet: list[str]
):
    monkeypatch.setitem(rewards_output.PROGRESS_FROM, "events", 1)  # the demo's ledger is short
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # what Rich takes for a terminal
    result = _verify_all(run, demo, *quiet)
    assert result.exit_code == 0, result.stderr
    assert ("downloading ledger" in result.stderr) is not quiet


def test_all_months_as_json(run: Run, demo: str):
    result = _verify_all(run, demo, "--json")
    assert result.exit_code == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["verified"] is True
    assert [month["period"] for month in verdict["months"]] == list(MONTHS)


def _flip_a_digit(data: bytes) -> bytes:
    line = data.splitlines(keepends=True)
    last = line[-1]
    digit = last.rstrip(b"\n")[-1:]
    changed = b"1" if digit != b"1" else b"2"
    return b"".join(line[:-1]) + last.rstrip(b"\n")[:-1] + changed + b"\n"


def test_tampered_payouts_csv_fails_that_month_and_the_next(run: Run, mirror: Mirror):
    mirror.alter[FILES.format("2026-09", "payouts.csv")] = _flip_a_digit
    result = _verify_all(run, mirror.url)
    assert result.exit_code == ExitCode.VERIFICATION_FAILED
    lines = result.stdout.splitlines()
    assert lines[0].startswith("verified  2026-08")
    assert lines[1].startswith(
        f"FAILED    2026-09  {mirror.url}/api/v1/rewards/periods/2026-09/files/payouts.csv"
    )
    # The next month is checked against it as its previous bundle.
    assert lines[2].startswith(
        f"FAILED    2026-10  {mirror.url}/api/v1/rewards/periods/2026-09/files/payouts.csv"
    )
    assert result.stderr.startswith("verification failed: 2 of 3 months from ")
    assert len(result.stderr.splitlines()) == 1


def test_truncated_ledger_fails(run: Run, mirror: Mirror):
    mirror.alter[LEDGER] = lambda data: b"".join(data.splitlines(keepends=True)[:30])
    result = run("verify", "--from", mirror.url, "--period", "2026-10", "--retries", 0)
    assert result.exit_code == ExitCode.VERIFICATION_FAILED
    assert result.stderr == (
        f"verification failed: {mirror.url}/api/v1/rewards/periods/2026-10/files/manifest.json, "
        "ledger_head.seq: the ledger ends before the bundle's ledger head (it has 30 events) "
        "(expected at most 30, found 60)\n"
    )


def _bundle_of(demo: str, month: str) -> dict[str, bytes]:
    return {name: _get(demo + FILES.format(month, name)) for name in BUNDLE_FILES}


def _other_bundle(demo: str, month: str, previous: str) -> dict[str, bytes]:
    """A consistent bundle of `month` computed with other figures: a different root."""
    original = read_bundle(_bundle_of(demo, month))
    figures = original.manifest.figures
    return build_bundle(
        month,
        period_events_from_lines(original.event_lines, month),
        dataclasses.replace(figures, revenue_cents=figures.revenue_cents + 100),
        previous=read_bundle(_bundle_of(demo, previous)),
        ledger_head=original.manifest.ledger_head,
    ).files()


def test_wrong_previous_root_fails(run: Run, mirror: Mirror):
    other = _other_bundle(mirror.upstream, "2026-09", "2026-08")
    for name, data in other.items():
        mirror.alter[FILES.format("2026-09", name)] = lambda _old, data=data: data
    result = run("verify", "--from", mirror.url, "--period", "2026-10", "--retries", 0)
    assert result.exit_code == ExitCode.VERIFICATION_FAILED
    assert result.stderr.startswith(
        f"verification failed: {mirror.url}/api/v1/rewards/periods/2026-10/files/manifest.json, "
        "previous_root: the previous bundle given is not the one this bundle follows"
    )


def test_another_months_bundle_under_a_months_url_fails(run: Run, mirror: Mirror):
    september = _bundle_of(mirror.upstream, "2026-09")
    for name, data in september.items():
        mirror.alter[FILES.format("2026-10", name)] = lambda _old, data=data: data
    root = hashlib.sha256(september["SHA256SUMS"]).hexdigest()
    result = run("verify", "--from", mirror.url, "--period", "2026-10", "--root", root)
    assert result.exit_code == ExitCode.VERIFICATION_FAILED
    assert result.stderr == (
        f"verification failed: {mirror.url}/api/v1/rewards/periods/2026-10/files/manifest.json, "
        "period: the server publishes this bundle as another month's "
        "(expected 2026-10, found 2026-09)\n"
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (FILES.format("2026-10", "events.jsonl"), "HTTP 404 Not Found: gone from the mirror"),
        (LEDGER, "HTTP 404 Not Found: gone from the mirror"),
    ],
)
def test_404_names_the_url(run: Run, mirror: Mirror, path: str, message: str):
    mirror.status[path] = 404
    result = run("verify", "--from", mirror.url, "--period", "2026-10", "--retries", 2)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(f"error: {mirror.url}{path}")
    assert result.stderr.endswith(f": {message}\n")  # not retried: a 404 will not pass


def test_timeout_is_retried_then_exit_3(run: Run, mirror: Mirror):
    mirror.delay["/api/v1/rewards/periods"] = 2
    started = time.monotonic()
    result = _verify_all(run, mirror.url, "--timeout", 0.3, "--retries", 1)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        f"error: {mirror.url}/api/v1/rewards/periods: no answer within 0.3 s (after 2 attempts)\n"
    )
    assert time.monotonic() - started < 10


def test_server_errors_are_retried(run: Run, mirror: Mirror):
    mirror.status["/api/v1/rewards/periods"] = 503
    result = _verify_all(run, mirror.url, "--retries", 1)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "HTTP 503 Service Unavailable: gone from the mirror (after 2 attempts)" in result.stderr


def test_broken_ledger_download_resumes_with_range(run: Run, mirror: Mirror):
    mirror.cut_once.add(LEDGER)
    result = run("verify", "--from", mirror.url, "--period", "2026-10", "--retries", 1)
    assert result.exit_code == 0, result.stderr
    assert len(mirror.ranges) == 1
    assert mirror.ranges[0].startswith("bytes=")
    assert mirror.ranges[0] != "bytes=0-"


def test_ledger_is_read_only_up_to_the_months_head(run: Run, mirror: Mirror):
    mirror.alter[LEDGER] = lambda data: data + b"not a ledger line\n"
    result = run("verify", "--from", mirror.url, "--period", "2026-10", "--retries", 0)
    assert result.exit_code == 0, result.stderr


def test_redirect_to_plain_http_elsewhere_is_refused(run: Run, mirror: Mirror):
    mirror.redirect["/api/v1/rewards/periods"] = "http://example.com/periods"
    result = _verify_all(run, mirror.url)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        f"error: {mirror.url}/api/v1/rewards/periods: redirected to http://example.com/periods, "
        "which is not HTTPS; refusing to follow\n"
    )


def test_prove_and_statement_from_the_demo(run: Run, demo: str):
    result = run("prove", "--from", demo, "--period", "2026-09", "--contributor", "github:1001")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("github:1001 in 2026-09: payout ")
    assert result.stdout.splitlines()[-1].startswith(
        f"verified: {demo}/api/v1/rewards/periods/2026-09/proofs/github:1001?version=1 (2026-09)"
    )
    missing = run("prove", "--from", demo, "--period", "2026-09", "--contributor", "github:9")
    assert missing.exit_code == ExitCode.BAD_INPUT
    assert "has no row for 'github:9'" in missing.stderr
    statement = run("statement", "--from", demo, "--contributor", "github:1001")
    assert statement.exit_code == 0, statement.stderr
    lines = statement.stdout.splitlines()
    assert lines[0].startswith("github:1001: linked to an account; 7 events")
    assert [line[:7] for line in lines[1:]] == list(MONTHS)


def test_a_body_over_the_cap_is_refused(demo: str):
    remote = Remote(demo, retries=0)
    url = remote.url("periods")
    with pytest.raises(CliError, match=r"bytes is more than the 100-byte cap$") as caught:
        remote.get(url, limit=100)
    assert caught.value.message.startswith(f"{url}: ")
    assert caught.value.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://127.9.9.9", "http://[::1]:80/", "http://localhost"]
)
def test_plain_http_is_allowed_to_loopback(url: str):
    assert check_url(url) == url


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.1", "ftp://127.0.0.1"])
def test_plain_http_elsewhere_is_a_usage_error(run: Run, url: str):
    with pytest.raises(CliError):
        check_url(url)
    result = run("verify", "--from", url, "--all")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("error: --from: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--all"], "--all only applies with --from"),
        (["--from", "https://x.test"], "give exactly one of --period YYYY-MM or --all"),
        (["--from", "https://x.test", "--all", "--root", "a" * 64], "--root pins one month"),
        (["--from", "https://x.test", "--all", "--timeout", "0"], "--timeout: must be more"),
    ],
)
def test_option_mistakes_are_usage_errors(run: Run, args: list[str], message: str):
    result = run("verify", *args)
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr


def test_a_listed_period_that_is_not_a_month_is_refused(run: Run, mirror: Mirror, tmp_path: Path):
    mirror.alter["/api/v1/rewards/periods"] = lambda data: data.replace(b"2026-08", b"../../x")
    result = _verify_all(run, mirror.url, "--save", tmp_path / "saved")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        f"error: {mirror.url}/api/v1/rewards/periods: not the list of periods expected\n"
    )
