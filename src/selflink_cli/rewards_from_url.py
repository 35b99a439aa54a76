"""`--from URL`: verify what a server publishes, month by month, as if it had been downloaded.

The files are fetched (see `rewards_remote`) and checked by the same core functions as the
local form, so a month verified from its URL is verified exactly as `verify DIR --previous DIR
--ledger FILE --root HEX` would verify the same bytes.
"""

import contextlib
import dataclasses
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from selflink_cli.errors import CliError
from selflink_cli.ledger_scan import scan_ledger_file
from selflink_cli.rewards_files import write_bundle_folder
from selflink_cli.rewards_remote import (
    Remote,
    bundle_files,
    published_month,
    published_months,
    save_ledger,
)
from selflink_core.rewards import (
    MANIFEST_FILE,
    PREVIOUS_BUNDLE_PREFIX,
    SUMS_FILE,
    BundleError,
    Manifest,
    Mismatch,
    PreviousBundleError,
    VerificationReport,
    parse_manifest,
    previous_period,
    verify_bundle,
)

LEDGER_NAME = "ledger.jsonl"


@dataclass
class FetchedMonth:
    """A month's bundle as downloaded, with the URL of the folder that names its files."""

    period: str
    files: dict[str, bytes]
    folder_url: str
    expected_root: str | None

    @property
    def manifest(self) -> Manifest | None:
        try:
            return parse_manifest(self.files.get(MANIFEST_FILE, b""))
        except BundleError:
            return None

    @property
    def root(self) -> str:
        return hashlib.sha256(self.files.get(SUMS_FILE, b"")).hexdigest()


def fetch_month(remote: Remote, period: str, pinned_root: str | None) -> FetchedMonth:
    """The version of the month whose root is pinned, or else its current version.

    Without a pin the root that the server lists for the month is the one to expect.
    """
    month, versions = published_month(remote, period)
    version = versions.get(pinned_root, month.version) if pinned_root else month.version
    files, folder_url = bundle_files(remote, period, version)
    return FetchedMonth(period, files, folder_url, pinned_root or month.root)


def fetch_previous(
    remote: Remote, month: FetchedMonth, fetched: dict[str, FetchedMonth]
) -> FetchedMonth | None:
    """The bundle the month's manifest names as previous: the version with that root."""
    manifest = month.manifest
    if manifest is None or not manifest.previous_root:
        return None
    period = previous_period(manifest.period)
    known = fetched.get(period)
    if known is not None and known.root == manifest.previous_root:
        return known
    _, versions = published_month(remote, period)
    files, folder_url = bundle_files(remote, period, versions.get(manifest.previous_root))
    return FetchedMonth(period, files, folder_url, None)


@contextlib.contextmanager
def ledger_folder(save: Path | None) -> Iterator[Path]:
    """Where the ledger goes: the --save folder, or a temporary one removed afterwards."""
    if save is not None:
        try:
            save.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(f"{save}: cannot create the folder: {exc.strerror or exc}") from None
        yield save
        return
    with tempfile.TemporaryDirectory(prefix="selflink-verify-") as folder:
        yield Path(folder)


def save_months(save: Path | None, months: list[FetchedMonth]) -> None:
    """Keep the bundles in the layout `verify DIR --previous DIR` reads: one folder a month."""
    if save is None:
        return
    for month in months:
        write_bundle_folder(save / month.period, month.files, force=True)


def verify_fetched(
    month: FetchedMonth, previous: FetchedMonth | None, ledger: Path, ledger_url: str
) -> VerificationReport:
    """The local form's verification of downloaded bytes; mismatches name the URLs."""
    manifest = month.manifest
    scan = None
    if manifest is not None:
        scan = scan_ledger_file(ledger, period=manifest.period, mark_seq=manifest.ledger_head.seq)
    try:
        report = verify_bundle(
            month.files,
            previous=None if previous is None else previous.files,
            ledger=scan,
            ledger_name=ledger_url,
            expected_root=month.expected_root,
            subject=f"{month.folder_url} ({month.period})",
        )
    except PreviousBundleError as exc:
        raise CliError(f"{month.folder_url}: {exc}") from None
    if report.mismatch is None and report.period != month.period:
        # The local form has no such check: there the folder's name is only a name.
        report.mismatch = Mismatch(
            file=MANIFEST_FILE,
            reason="the server publishes this bundle as another month's",
            field="period",
            expected=month.period,
            found=report.period,
        )
    mismatch = report.mismatch
    if mismatch is not None and mismatch.file != ledger_url:
        if mismatch.file.startswith(PREVIOUS_BUNDLE_PREFIX) and previous is not None:
            name = f"{previous.folder_url}/{mismatch.file.removeprefix(PREVIOUS_BUNDLE_PREFIX)}"
        else:
            name = f"{month.folder_url}/{mismatch.file}"
        report.mismatch = dataclasses.replace(mismatch, file=name)
    return report


def verify_months(
    remote: Remote, months: list[FetchedMonth], save: Path | None
) -> list[VerificationReport]:
    """Verify months in order, each against the one before; one ledger download for all."""
    fetched = {month.period: month for month in months}
    previous = [fetch_previous(remote, month, fetched) for month in months]
    kept = {p.period: p for p in previous if p is not None} | fetched
    save_months(save, list(kept.values()))
    heads = [m.manifest.ledger_head.seq for m in months if m.manifest is not None]
    with ledger_folder(save) as folder:
        ledger = folder / LEDGER_NAME
        ledger_url = save_ledger(remote, ledger, max(heads, default=0))
        return [
            verify_fetched(month, before, ledger, ledger_url)
            for month, before in zip(months, previous, strict=True)
        ]


def fetch_all(remote: Remote) -> list[FetchedMonth]:
    """Every published month, oldest first, each expected to have the root the server lists."""
    months = published_months(remote)
    if not months:
        raise CliError(f"{remote.url('periods')}: the server publishes no months yet")
    fetched = []
    for month in months:
        files, folder_url = bundle_files(remote, month.period, month.version)
        fetched.append(FetchedMonth(month.period, files, folder_url, month.root))
    return fetched
