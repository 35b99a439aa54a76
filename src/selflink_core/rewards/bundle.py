"""A month's bundle (spec §4): building its four files from the period's events, and reading them.

Everything here works on bytes in memory; the CLI or the API decides where the files live.
"""

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

from selflink_core.rewards.calculation import (
    PAYOUT_COLUMNS,
    Carried,
    Figures,
    FiguresError,
    MonthResult,
    PayoutRow,
    calculate_month,
)
from selflink_core.rewards.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJsonError,
    canonical_json,
    parse_strict_json,
)
from selflink_core.rewards.chain import PeriodEvent, scan_chunk
from selflink_core.rewards.events import (
    EMPTY_LEDGER_HEAD,
    Event,
    LedgerHead,
    is_hex_sha256,
    is_period,
    previous_period,
)
from selflink_core.rewards.merkle import merkle_root

BUNDLE_FORMAT: Final = "selflink-rewards-bundle/1"
EVENTS_FILE: Final = "events.jsonl"
MANIFEST_FILE: Final = "manifest.json"
PAYOUTS_FILE: Final = "payouts.csv"
SUMS_FILE: Final = "SHA256SUMS"
BUNDLE_FILES: Final = (EVENTS_FILE, MANIFEST_FILE, PAYOUTS_FILE, SUMS_FILE)
PAYOUTS_HEADER: Final = ",".join(PAYOUT_COLUMNS).encode() + b"\n"


class BundleError(ValueError):
    """A bundle cannot be built or read; names the file and, when known, the line and field."""

    def __init__(
        self, file: str, message: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        where = file if line is None else f"{file} line {line}"
        if field is not None:
            where += f", {field}"
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line
        self.field = field
        self.reason = message


@dataclass(frozen=True, slots=True)
class Manifest:
    """manifest.json: the month's figures, totals and the hashes that tie the files together."""

    period: str
    currency: str
    revenue_cents: int
    costs_cents: int
    net_revenue_cents: int
    pool_bps: int
    pool_new_cents: int
    rollover_in_cents: int
    pool_cents: int
    min_payout_cents: int
    total_eligible_points: int
    allocated_cents: int
    paid_cents: int
    carry_out_cents: int
    rollover_out_cents: int
    contributors: int
    events: int
    rules: tuple[str, ...]
    ledger_head: LedgerHead
    events_sha256: str
    payouts_sha256: str
    merkle_root: str
    previous_root: str
    format: str = BUNDLE_FORMAT

    @property
    def figures(self) -> Figures:
        return Figures(
            currency=self.currency,
            revenue_cents=self.revenue_cents,
            costs_cents=self.costs_cents,
            pool_bps=self.pool_bps,
            min_payout_cents=self.min_payout_cents,
        )

    def as_json_object(self) -> dict[str, Any]:
        obj: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        obj["rules"] = list(self.rules)
        obj["ledger_head"] = self.ledger_head.as_json_object()
        return obj

    def to_bytes(self) -> bytes:
        try:
            return canonical_json(self.as_json_object()) + b"\n"
        except CanonicalJsonError as exc:
            raise BundleError(MANIFEST_FILE, str(exc)) from None


MANIFEST_KEYS: Final = tuple(sorted(f.name for f in fields(Manifest)))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sums_file(events: bytes, manifest: bytes, payouts: bytes) -> bytes:
    """SHA256SUMS for the three data files, in the format `sha256sum -c` reads."""
    return (
        f"{sha256_hex(events)}  {EVENTS_FILE}\n"
        f"{sha256_hex(manifest)}  {MANIFEST_FILE}\n"
        f"{sha256_hex(payouts)}  {PAYOUTS_FILE}\n"
    ).encode()


def payouts_file(rows: Iterable[PayoutRow]) -> bytes:
    return PAYOUTS_HEADER + b"".join(row.csv_line() + b"\n" for row in rows)


@dataclass(frozen=True, slots=True)
class Bundle:
    """A month's bundle in memory; `files()` gives the exact bytes of its four files."""

    manifest: Manifest
    rows: tuple[PayoutRow, ...]
    event_lines: tuple[bytes, ...]

    def files(self) -> dict[str, bytes]:
        events = b"".join(self.event_lines)
        manifest = self.manifest.to_bytes()
        payouts = payouts_file(self.rows)
        return {
            EVENTS_FILE: events,
            MANIFEST_FILE: manifest,
            PAYOUTS_FILE: payouts,
            SUMS_FILE: sums_file(events, manifest, payouts),
        }

    @property
    def root(self) -> str:
        """The published root: SHA-256 of SHA256SUMS.

        Computed from the manifest alone (it holds the other files' hashes), so a service that
        keeps only the manifest and rows of a past month can still chain the next one to it.
        """
        return manifest_root(self.manifest)

    @property
    def period(self) -> str:
        return self.manifest.period

    def row(self, contributor: str) -> tuple[int, PayoutRow] | None:
        """The 0-based index and row of `contributor`, if the bundle has one."""
        for index, row in enumerate(self.rows):
            if row.contributor == contributor:
                return index, row
        return None

    def carried(self) -> Carried:
        """What this month hands on to the next."""
        return Carried(
            rollover_cents=self.manifest.rollover_out_cents,
            rows={row.contributor: row for row in self.rows},
        )


def manifest_root(manifest: Manifest) -> str:
    """The root of the bundle this manifest describes: SHA256SUMS rebuilt from its hashes."""
    sums = (
        f"{manifest.events_sha256}  {EVENTS_FILE}\n"
        f"{sha256_hex(manifest.to_bytes())}  {MANIFEST_FILE}\n"
        f"{manifest.payouts_sha256}  {PAYOUTS_FILE}\n"
    )
    return sha256_hex(sums.encode())


def root_of_files(files: Mapping[str, bytes]) -> str:
    return sha256_hex(files[SUMS_FILE])


def period_event(event: Event) -> PeriodEvent:
    """An `Event` as the calculation sees it."""
    return PeriodEvent(event.seq, event.contributor, event.points, event.rules, event.line())


def period_events_from_lines(lines: Iterable[bytes], period: str) -> list[PeriodEvent]:
    """Parse a period's ledger lines (as in events.jsonl), checking each and their order."""
    line_list = list(lines)
    scan = scan_chunk(line_list, after=None, period=period, contiguous=False)
    if scan.problem is not None:
        raise BundleError(EVENTS_FILE, scan.problem.reason, line=scan.problem.line_number)
    for line_number, (line, event) in enumerate(
        zip(line_list, [*scan.period_events, None], strict=False), start=1
    ):
        if event is None or event.line is not line:
            raise BundleError(
                EVENTS_FILE,
                f"the event is not in period {period}",
                line=line_number,
                field="period",
            )
    return scan.period_events


def build_bundle(
    period: str,
    events: Iterable[PeriodEvent],
    figures: Figures,
    *,
    previous: Bundle | None = None,
    ledger_head: LedgerHead = EMPTY_LEDGER_HEAD,
) -> Bundle:
    """The bundle of `period`: its events (in seq order), figures and the previous month's bundle.

    `ledger_head` is the last ledger event that existed when the bundle was made.
    """
    if not is_period(period):
        raise BundleError(MANIFEST_FILE, f"must be YYYY-MM, found {period!r}", field="period")
    event_list = list(events)
    for before, after in itertools.pairwise(event_list):
        if after.seq <= before.seq:
            raise BundleError(
                EVENTS_FILE, f"events must be in seq order: seq {after.seq} follows {before.seq}"
            )
    if event_list and event_list[-1].seq > ledger_head.seq:
        raise BundleError(
            MANIFEST_FILE,
            f"event seq {event_list[-1].seq} is after the ledger head seq {ledger_head.seq}",
            field="ledger_head",
        )
    if previous is not None:
        check_previous(period, figures.currency, previous)
    try:
        result = calculate_month(
            ((event.contributor, event.points) for event in event_list),
            figures,
            previous.carried() if previous is not None else None,
        )
    except FiguresError as exc:
        raise BundleError(MANIFEST_FILE, str(exc), field=exc.field) from None
    event_lines = tuple(event.line for event in event_list)
    return _assemble(
        period,
        result,
        event_lines,
        rules=tuple(sorted({event.rules for event in event_list}, key=str.encode)),
        ledger_head=ledger_head,
        previous_root=previous.root if previous is not None else "",
    )


def check_previous(period: str, currency: str, previous: Bundle) -> None:
    """Raise `BundleError` unless `previous` can precede `period` (the month before, same money)."""
    expected = previous_period(period)
    if previous.period != expected:
        raise BundleError(
            MANIFEST_FILE,
            f"the previous bundle must be for {expected} (the month before {period}), "
            f"found {previous.period}",
            field="period",
        )
    if previous.manifest.currency != currency:
        raise BundleError(
            MANIFEST_FILE,
            f"the previous bundle is in {previous.manifest.currency}, this month in {currency}; "
            "carries cannot change currency",
            field="currency",
        )


def _assemble(
    period: str,
    result: MonthResult,
    event_lines: tuple[bytes, ...],
    *,
    rules: tuple[str, ...],
    ledger_head: LedgerHead,
    previous_root: str,
) -> Bundle:
    events = b"".join(event_lines)
    payouts = payouts_file(result.rows)
    figures = result.figures
    manifest = Manifest(
        period=period,
        currency=figures.currency,
        revenue_cents=figures.revenue_cents,
        costs_cents=figures.costs_cents,
        net_revenue_cents=result.net_revenue_cents,
        pool_bps=figures.pool_bps,
        pool_new_cents=result.pool_new_cents,
        rollover_in_cents=result.rollover_in_cents,
        pool_cents=result.pool_cents,
        min_payout_cents=figures.min_payout_cents,
        total_eligible_points=result.total_eligible_points,
        allocated_cents=result.allocated_cents,
        paid_cents=result.paid_cents,
        carry_out_cents=result.carry_out_cents,
        rollover_out_cents=result.rollover_out_cents,
        contributors=len(result.rows),
        events=len(event_lines),
        rules=rules,
        ledger_head=ledger_head,
        events_sha256=sha256_hex(events),
        payouts_sha256=sha256_hex(payouts),
        merkle_root=merkle_root([row.csv_line() for row in result.rows]).hex(),
        previous_root=previous_root,
    )
    bundle = Bundle(manifest=manifest, rows=result.rows, event_lines=event_lines)
    bundle.files()  # raises BundleError if a figure left the JSON safe range
    return bundle


# Reading ---------------------------------------------------------------------------------------


def _json_int(obj: Mapping[str, Any], key: str, file: str = MANIFEST_FILE) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise BundleError(file, f"must be an integer, found {value!r}", field=key)
    return value


def _json_str(obj: Mapping[str, Any], key: str, file: str = MANIFEST_FILE) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise BundleError(file, f"must be a string, found {value!r}", field=key)
    return value


def _exact_keys(obj: object, expected: Sequence[str], file: str, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise BundleError(file, f"{what} must be a JSON object")
    unknown = sorted(set(obj) - set(expected))
    if unknown:
        raise BundleError(file, f"unknown key {unknown[0]!r}", field=unknown[0])
    missing = [key for key in expected if key not in obj]
    if missing:
        raise BundleError(file, f"missing key {missing[0]!r}", field=missing[0])
    return obj


def manifest_from_json_object(obj: object, file: str = MANIFEST_FILE) -> Manifest:
    """A manifest object checked for its exact keys and their types and shapes."""
    manifest = _exact_keys(obj, MANIFEST_KEYS, file, "the manifest")
    if manifest["format"] != BUNDLE_FORMAT:
        raise BundleError(
            file, f"must be {BUNDLE_FORMAT!r}, found {manifest['format']!r}", field="format"
        )
    period = _json_str(manifest, "period", file)
    if not is_period(period):
        raise BundleError(file, f"must be YYYY-MM, found {period!r}", field="period")
    rules = manifest["rules"]
    if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules):
        raise BundleError(file, "must be an array of strings", field="rules")
    head = _exact_keys(manifest["ledger_head"], ("hash", "seq"), file, "ledger_head")
    head_seq = _json_int(head, "seq", file)
    head_hash = _json_str(head, "hash", file)
    if not is_hex_sha256(head_hash) or not 0 <= head_seq <= MAX_SAFE_INTEGER:
        raise BundleError(file, "must be {seq: n >= 0, hash: 64 hex digits}", field="ledger_head")
    for key in ("events_sha256", "payouts_sha256", "merkle_root"):
        if not is_hex_sha256(_json_str(manifest, key, file)):
            raise BundleError(file, "must be 64 lowercase hex digits", field=key)
    previous_root = _json_str(manifest, "previous_root", file)
    if previous_root and not is_hex_sha256(previous_root):
        raise BundleError(file, "must be 64 lowercase hex digits or empty", field="previous_root")
    values: dict[str, Any] = {}
    for f in fields(Manifest):
        if f.name in ("rules", "ledger_head"):
            continue
        if f.type is int:
            values[f.name] = _json_int(manifest, f.name, file)
        else:
            values[f.name] = _json_str(manifest, f.name, file)
    return Manifest(**values, rules=tuple(rules), ledger_head=LedgerHead(head_seq, head_hash))


def parse_manifest(data: bytes, file: str = MANIFEST_FILE) -> Manifest:
    """manifest.json bytes, which must be exactly JCS(manifest) + LF."""
    if not data.endswith(b"\n") or data.count(b"\n") != 1:
        raise BundleError(file, "must be one line of JSON ending with a newline")
    try:
        obj = parse_strict_json(data[:-1])
    except CanonicalJsonError as exc:
        raise BundleError(file, str(exc)) from None
    manifest = manifest_from_json_object(obj, file)
    if manifest.to_bytes() != data:
        raise BundleError(
            file, "is not in canonical form (RFC 8785: sorted keys, no spaces, minimal escapes)"
        )
    return manifest


def _csv_int(text: str, file: str, line: int, column: str) -> int:
    body = text[1:] if text.startswith("-") else text
    if not body.isascii() or not body.isdigit() or (body.startswith("0") and text != "0"):
        raise BundleError(
            file, f"must be a plain decimal integer, found {text!r}", line=line, field=column
        )
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise BundleError(file, "is outside the JSON safe range", line=line, field=column)
    return value


def parse_payouts(data: bytes, file: str = PAYOUTS_FILE) -> tuple[PayoutRow, ...]:
    """payouts.csv bytes: the exact header, then rows sorted by contributor, LF endings."""
    if not data.startswith(PAYOUTS_HEADER):
        raise BundleError(
            file, f"the first line must be exactly {PAYOUTS_HEADER.decode()!r}", line=1
        )
    if not data.endswith(b"\n"):
        raise BundleError(file, "the last line does not end with a newline")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(file, f"not valid UTF-8 (byte {exc.start})") from None
    rows: list[PayoutRow] = []
    for line_number, line in enumerate(text[len(PAYOUTS_HEADER) :].split("\n")[:-1], start=2):
        cells = line.split(",")
        if len(cells) != len(PAYOUT_COLUMNS):
            raise BundleError(
                file,
                f"must have {len(PAYOUT_COLUMNS)} comma-separated values, found {len(cells)}",
                line=line_number,
            )
        contributor = cells[0]
        if not contributor or "\r" in line:
            raise BundleError(file, "malformed row", line=line_number, field="contributor")
        numbers = [
            _csv_int(cell, file, line_number, column)
            for cell, column in zip(cells[1:], PAYOUT_COLUMNS[1:], strict=True)
        ]
        row = PayoutRow(contributor, *numbers)
        if rows and rows[-1].contributor.encode() >= contributor.encode():
            raise BundleError(
                file,
                f"rows must be sorted by contributor with no repeats: {contributor!r} "
                f"follows {rows[-1].contributor!r}",
                line=line_number,
                field="contributor",
            )
        rows.append(row)
    return tuple(rows)


def _split_lf(data: bytes) -> tuple[bytes, ...]:
    lines = data.split(b"\n")
    tail = lines.pop()
    result = [line + b"\n" for line in lines]
    if tail:
        result.append(tail)
    return tuple(result)


def read_bundle(files: Mapping[str, bytes]) -> Bundle:
    """Parse a bundle's four files (name → bytes). Checks their form, not their arithmetic.

    Hashes and numbers are compared by `selflink_core.rewards.verification.verify_bundle`.
    """
    names = set(files)
    for name in BUNDLE_FILES:
        if name not in names:
            raise BundleError(name, "is missing from the bundle")
    extra = sorted(names - set(BUNDLE_FILES))
    if extra:
        raise BundleError(extra[0], "is not one of the four bundle files")
    manifest = parse_manifest(files[MANIFEST_FILE])
    rows = parse_payouts(files[PAYOUTS_FILE])
    return Bundle(manifest=manifest, rows=rows, event_lines=_split_lf(files[EVENTS_FILE]))
