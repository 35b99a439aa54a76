"""Downloading what a SelfLink server publishes about rewards, with the standard library only.

The CLI must install without the API's dependencies, so this is `urllib`: HTTPS (plain HTTP
only to this machine), a timeout on every request, retries with back-off on failures that may
pass, a cap on every body, and a ledger download that resumes with an HTTP Range request.
Every failure is a `CliError` (exit 3) naming the URL.
"""

import contextlib
import http.client
import ipaddress
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, TypeVar

from selflink_cli.errors import CliError, ExitCode
from selflink_cli.rewards_output import progress_bar
from selflink_core.rewards import BUNDLE_FILES, is_period

API_PATH: Final = "/api/v1/rewards"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_RETRIES: Final = 3
FILE_LIMIT: Final = 1 << 30
"""A bundle file, a proof or a JSON listing: far beyond any real month."""
LEDGER_LIMIT: Final = 1 << 36
_CHUNK: Final = 1 << 20
_LINE_LIMIT: Final = 16 << 20
"""Far longer than any event line; a longer run without a newline is not kept in memory."""
_RETRY_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504})
_BACKOFF_SECONDS: Final = 0.5
_BACKOFF_MAX_SECONDS: Final = 30.0
_USER_AGENT: Final = "selflink-cli"

T = TypeVar("T")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """The URL if it may be used: HTTPS, or plain HTTP to a loopback address (exit 2 if not)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise CliError(f"--from: expected an https:// URL, found {url!r}", ExitCode.USAGE)
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise CliError(
            f"--from: plain http is only allowed to this machine (127.0.0.0/8, ::1, "
            f"localhost); use https:// for {parts.hostname}",
            ExitCode.USAGE,
        )
    return url


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to URLs `check_url` accepts: never downgrade to plain HTTP."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        try:
            check_url(newurl)
        except CliError:
            raise CliError(
                f"{req.full_url}: redirected to {newurl}, which is not HTTPS; refusing to follow"
            ) from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _problem_detail(body: bytes) -> str:
    """The `detail` of an RFC 9457 problem, which says what was not found or why."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return ""
    return detail if isinstance(detail, str) else ""


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        detail = _problem_detail(exc.read(64 << 10)) if exc.fp is not None else ""
        return f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _content_length(response: http.client.HTTPResponse) -> int | None:
    """The announced length: `read` returns short bodies without complaint, so we compare."""
    length = response.getheader("Content-Length", "")
    return int(length) if length.isdigit() else None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in _RETRY_STATUSES
    return isinstance(exc, OSError | http.client.HTTPException)


@dataclass
class _LedgerDownload:
    """How far a ledger download has got: only whole lines are on disk, the rest in `pending`."""

    out: IO[bytes]
    stop_marker: bytes
    advance: Callable[[int], None]
    written: int = 0
    pending: bytearray = field(default_factory=bytearray)
    done: bool = False

    def restart(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.written = 0
        self.pending.clear()

    def add(self, chunk: bytes) -> None:
        """Write the chunk's complete lines; stop after the line holding the marker."""
        self.pending += chunk
        end = self.pending.rfind(b"\n") + 1
        if not end:
            if len(self.pending) > _LINE_LIMIT:  # not an event line: pass it on to the scan
                self._write_pending()
            return
        lines = bytes(self.pending[:end])
        found = lines.find(self.stop_marker)
        if found >= 0:
            lines = lines[: lines.index(b"\n", found) + 1]
            self.done = True
        self.out.write(lines)
        self.written += len(lines)
        self.advance(lines.count(b"\n"))
        del self.pending[:end]

    def _write_pending(self) -> None:
        self.out.write(self.pending)
        self.written += len(self.pending)
        self.pending.clear()

    def finish(self) -> None:
        """The stream ended: keep an unterminated last line, for the scan to report."""
        self._write_pending()
        self.done = True


class Remote:
    """The rewards endpoints of one server, `URL/api/v1/rewards/…`."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        quiet: bool = False,
    ) -> None:
        base = check_url(url).rstrip("/")
        self.base = base if base.endswith(API_PATH) else base + API_PATH
        self.timeout = timeout
        self.retries = retries
        self.quiet = quiet
        self._opener = urllib.request.build_opener(_SafeRedirects())

    def url(self, *parts: str, version: int | None = None) -> str:
        path = "/".join(urllib.parse.quote(part, safe=":") for part in parts)
        query = f"?version={version}" if version is not None else ""
        return f"{self.base}/{path}{query}"

    @contextlib.contextmanager
    def _open(
        self, url: str, headers: dict[str, str] | None = None
    ) -> Iterator[http.client.HTTPResponse]:
        request = urllib.request.Request(  # noqa: S310 - every URL starts with the checked base
            url, headers={"User-Agent": _USER_AGENT, **(headers or {})}
        )
        with self._opener.open(request, timeout=self.timeout) as response:
            yield response

    def _with_retries(self, url: str, attempt: Callable[[], T]) -> T:
        """Run `attempt`, again after 0.5 s, 1 s, 2 s… while the failure may be passing."""
        for number in range(self.retries + 1):
            if number:
                time.sleep(min(_BACKOFF_SECONDS * 2 ** (number - 1), _BACKOFF_MAX_SECONDS))
            try:
                return attempt()
            except (OSError, http.client.HTTPException) as exc:
                if not _retryable(exc) or number == self.retries:
                    tries = f" (after {number + 1} attempts)" if number else ""
                    raise CliError(f"{url}: {_reason(exc, self.timeout)}{tries}") from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _read_capped(self, url: str, response: http.client.HTTPResponse, limit: int) -> bytes:
        length = _content_length(response)
        if length is not None and length > limit:
            raise CliError(f"{url}: {length:,} bytes is more than the {limit:,}-byte cap")
        data = response.read(limit + 1)
        if len(data) > limit:
            raise CliError(f"{url}: more than the {limit:,}-byte cap")
        if length is not None and len(data) < length:
            raise http.client.IncompleteRead(data, length - len(data))
        return data

    def get(self, url: str, limit: int = FILE_LIMIT) -> bytes:
        """The body of a GET, retried as a whole."""

        def attempt() -> bytes:
            with self._open(url) as response:
                return self._read_capped(url, response, limit)

        return self._with_retries(url, attempt)

    def get_json(self, url: str, what: str) -> Any:
        try:
            return json.loads(self.get(url))
        except ValueError:
            raise CliError(f"{url}: not the JSON {what} expected") from None

    def download_ledger(self, out: IO[bytes], *, head_seq: int) -> str:
        """Write the ledger to `out`, up to the line of seq `head_seq` (or to its end).

        After a broken connection it asks only for the rest (Range: bytes=N-): the ledger is
        append-only, so the bytes already received stay valid. A server that answers 200
        instead of 206 sends everything again, and the download starts over.
        """
        url = self.url("ledger.jsonl")
        # Canonical JSON sorts keys, so seq is followed by source_sha256; a quote inside a
        # string is escaped, so the marker cannot appear inside a value.
        marker = f',"seq":{head_seq},"source_sha256":'.encode()
        if head_seq == 0:
            return url
        with progress_bar(
            head_seq, "downloading ledger", quiet=self.quiet, unit="events"
        ) as advance:
            self._download(url, _LedgerDownload(out, marker, advance))
        out.flush()
        return url

    def _download(self, url: str, state: _LedgerDownload) -> None:
        """One download, continued with a Range request after each break."""

        def attempt() -> None:
            headers = {"Range": f"bytes={state.written}-"} if state.written else {}
            with self._open(url, headers) as response:
                resumed = response.status == 206 and (
                    response.getheader("Content-Range", "").startswith(f"bytes {state.written}-")
                )
                if not resumed:
                    state.restart()
                else:
                    state.pending.clear()
                length, received = _content_length(response), 0
                while not state.done:
                    chunk = response.read(_CHUNK)
                    received += len(chunk)
                    if not chunk:
                        if length is not None and received < length:
                            raise http.client.IncompleteRead(b"", length - received)
                        state.finish()
                        break
                    state.add(chunk)
                    if state.written + len(state.pending) > LEDGER_LIMIT:
                        raise CliError(f"{url}: more than the {LEDGER_LIMIT:,}-byte cap")

        self._with_retries(url, attempt)


def save_ledger(remote: Remote, path: Path, head_seq: int) -> str:
    """Download the ledger into `path`, written beside it and renamed into place when whole."""
    partial = path.with_name(f".{path.name}.part")
    try:
        with partial.open("wb") as out:
            url = remote.download_ledger(out, head_seq=head_seq)
        partial.replace(path)
    except OSError as exc:
        raise CliError(f"{path}: cannot write the ledger: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return url


@dataclass(frozen=True)
class PublishedMonth:
    """One row of `/periods`: what the server says it published for a month."""

    period: str
    version: int
    root: str
    currency: str


def _published_month(url: str, item: Any) -> PublishedMonth:
    try:
        month = PublishedMonth(
            period=item["period"],
            version=item["version"],
            root=item["root"],
            currency=item["currency"],
        )
    except (KeyError, TypeError):
        raise CliError(f"{url}: not the list of periods expected") from None
    # The period names a folder under --save: nothing but YYYY-MM may reach the file system.
    if not (
        isinstance(month.period, str)
        and is_period(month.period)
        and isinstance(month.version, int)
        and isinstance(month.root, str)
        and isinstance(month.currency, str)
    ):
        raise CliError(f"{url}: not the list of periods expected")
    return month


def published_months(remote: Remote) -> list[PublishedMonth]:
    """Every committed month, oldest first."""
    url = remote.url("periods")
    listing = remote.get_json(url, "list of periods")
    if not isinstance(listing, list):
        raise CliError(f"{url}: not the list of periods expected")
    return sorted((_published_month(url, item) for item in listing), key=lambda m: m.period)


def published_month(remote: Remote, period: str) -> tuple[PublishedMonth, dict[str, int]]:
    """A month's current version, and the version number of each root it has had."""
    url = remote.url("periods", period)
    detail = remote.get_json(url, "period")
    if not isinstance(detail, dict) or not isinstance(detail.get("versions"), list):
        raise CliError(f"{url}: not the period expected")
    versions = {}
    for item in detail["versions"]:
        if not isinstance(item, dict) or not isinstance(item.get("version"), int):
            raise CliError(f"{url}: not the period expected")
        versions[str(item.get("root"))] = item["version"]
    return _published_month(url, detail.get("summary")), versions


def bundle_files(
    remote: Remote, period: str, version: int | None = None
) -> tuple[dict[str, bytes], str]:
    """The four files of a month's bundle byte for byte, and the folder URL naming them."""
    files = {
        name: remote.get(remote.url("periods", period, "files", name, version=version))
        for name in BUNDLE_FILES
    }
    return files, remote.url("periods", period, "files")
