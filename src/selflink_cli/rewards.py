"""`selflink rewards`: calculate, verify and prove monthly reward bundles (format 1)."""

import dataclasses
import re
import sys
from pathlib import Path
from typing import Annotated, Final

import typer

from selflink_cli.errors import CliError, ExitCode
from selflink_cli.ledger_scan import scan_ledger_file
from selflink_cli.rewards_files import (
    append_line_atomically,
    check_output_folder,
    ledger_lock,
    read_bundle_folder,
    read_bytes,
    write_bundle_folder,
    write_file_atomically,
)
from selflink_cli.rewards_from_url import (
    FetchedMonth,
    fetch_all,
    fetch_month,
    verify_months,
)
from selflink_cli.rewards_output import (
    Quiet,
    print_bundle_summary,
    print_explanation,
    print_json,
    print_month_line,
    print_report,
    print_statement,
    progress_bar,
)
from selflink_cli.rewards_remote import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    Remote,
    published_month,
    published_months,
)
from selflink_cli.rewards_synth import periods_between, synth_ledger
from selflink_core.rewards import (
    DEFAULT_RULES,
    EMPTY_LEDGER_HEAD,
    MANIFEST_FILE,
    PREVIOUS_BUNDLE_PREFIX,
    Bundle,
    BundleError,
    CanonicalJsonError,
    EventError,
    Figures,
    FiguresError,
    InconsistentBundleError,
    LedgerScan,
    NoSuchRowError,
    NotScored,
    PayloadError,
    PreviousBundleError,
    ProofError,
    UnknownRulesError,
    VerificationReport,
    build_bundle,
    canonical_json,
    check_previous,
    check_proof,
    draft_from_json_object,
    explain_row,
    is_period,
    make_proof,
    parse_manifest,
    parse_proof,
    parse_strict_json,
    period_of,
    read_consistent_bundle,
    score_pull_request,
    seal,
    verify_bundle,
)
from selflink_core.rewards.report import Mismatch, MismatchError

EXIT_CODES_HELP: Final = (
    "Exit codes: 0 success or verified, 1 verification failed, 2 usage error, "
    "3 unreadable or malformed input, or a server that cannot be reached."
)
_HEX_ROOT = re.compile(r"[0-9a-fA-F]{64}")

app = typer.Typer(
    help=(
        "Reproduce and verify monthly reward bundles and their hashes (format 1).\n\n"
        + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
)
ledger_app = typer.Typer(
    help="Append to, verify and synthesise ledgers.\n\n" + EXIT_CODES_HELP, no_args_is_help=True
)
app.add_typer(ledger_app, name="ledger")


def _period(value: str, option: str = "--period") -> str:
    if not is_period(value):
        raise CliError(f"{option}: expected a month as YYYY-MM, found {value!r}", ExitCode.USAGE)
    return value


def _root(value: str | None) -> str | None:
    if value is None:
        return None
    if _HEX_ROOT.fullmatch(value) is None:
        raise CliError(f"--root: expected 64 hex digits, found {value!r}", ExitCode.USAGE)
    return value.lower()


def _ledger_problem(ledger: Path, scan: LedgerScan) -> str:
    assert scan.problem is not None
    return f"{ledger} {scan.problem.describe()}"


def _checked_bundle(folder: Path) -> Bundle:
    """A bundle whose files agree with SHA256SUMS and whose manifest matches its payouts."""
    files = read_bundle_folder(folder)
    try:
        return read_consistent_bundle(files)
    except MismatchError as failure:
        raise CliError(f"{folder}/{failure.mismatch.message()}") from None
    except InconsistentBundleError as exc:
        raise CliError(f"{folder}/{exc}; run `selflink rewards verify {folder}`") from None
    except BundleError as exc:
        raise CliError(f"{folder}/{exc}") from None


# calculate -----------------------------------------------------------------------------------


@app.command(epilog=EXIT_CODES_HELP)
def calculate(
    ledger: Annotated[
        Path, typer.Option("--ledger", metavar="FILE", help="The ledger (JSON lines, format 1).")
    ],
    period: Annotated[str, typer.Option("--period", metavar="YYYY-MM", help="Month to compute.")],
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder to write the four bundle files to.")
    ],
    revenue_cents: Annotated[
        int, typer.Option("--revenue-cents", metavar="N", help="Month's revenue, minor units.")
    ] = 0,
    costs_cents: Annotated[
        int, typer.Option("--costs-cents", metavar="N", help="Month's costs, minor units.")
    ] = 0,
    currency: Annotated[
        str, typer.Option("--currency", help="3-letter uppercase currency code.")
    ] = "USD",
    pool_bps: Annotated[
        int, typer.Option("--pool-bps", help="Share of net revenue for the pool, basis points.")
    ] = 5000,
    min_payout_cents: Annotated[
        int, typer.Option("--min-payout-cents", help="Smaller amounts are carried to next month.")
    ] = 0,
    previous: Annotated[
        Path | None,
        typer.Option("--previous", metavar="DIR", help="The previous month's bundle folder."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the bundle already in --out.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: the manifest and the root.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Dry run: compute a month's bundle from the ledger and write it into DIR.

    Prints a summary and, as the last line, `root: <hex>` (the hash to publish).
    """
    _period(period)
    figures = Figures(
        currency=currency,
        revenue_cents=revenue_cents,
        costs_cents=costs_cents,
        pool_bps=pool_bps,
        min_payout_cents=min_payout_cents,
    )
    try:
        figures.validate()
    except FiguresError as exc:
        option = "--" + exc.field.replace("_", "-")
        raise CliError(f"{option}: {str(exc).split(': ', 1)[1]}", ExitCode.USAGE) from None
    if previous is not None and previous.resolve() == out.resolve():
        raise CliError("--out and --previous are the same folder", ExitCode.USAGE)
    check_output_folder(out, force=force)
    previous_bundle = None
    if previous is not None:
        previous_bundle = _checked_bundle(previous)
        try:
            check_previous(period, currency, previous_bundle)
        except BundleError as exc:
            raise CliError(f"--previous {previous}: {exc.reason}", ExitCode.USAGE) from None
    scan = scan_ledger_file(ledger, period=period, quiet=quiet)
    if scan.problem is not None:
        raise CliError(_ledger_problem(ledger, scan))
    try:
        bundle = build_bundle(
            period, scan.period_events, figures, previous=previous_bundle, ledger_head=scan.head
        )
    except BundleError as exc:
        raise CliError(str(exc)) from None
    write_bundle_folder(out, bundle.files(), force=force)
    if not scan.period_events:
        typer.echo(f"note: {ledger} has no events in {period}", err=True)
    if json_output:
        print_json({"manifest": bundle.manifest.as_json_object(), "root": bundle.root})
    else:
        print_bundle_summary(bundle, str(out))


# verify --------------------------------------------------------------------------------------


def _label_mismatch(
    report: VerificationReport, folder: Path, previous: Path | None, ledger: Path | None
) -> None:
    """Name files by their paths, as the contributor typed them."""
    mismatch = report.mismatch
    if mismatch is None:
        return
    if mismatch.file.startswith(PREVIOUS_BUNDLE_PREFIX):
        name = f"{previous}/{mismatch.file.removeprefix(PREVIOUS_BUNDLE_PREFIX)}"
    elif ledger is not None and mismatch.file == str(ledger):
        name = str(ledger)
    else:
        name = f"{folder}/{mismatch.file}"
    report.mismatch = dataclasses.replace(mismatch, file=name)


FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="URL",
        help="Download from this server (https://, or http:// to this machine) instead.",
    ),
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help=f"With --from: per request (default {DEFAULT_TIMEOUT:g}).",
    ),
]
RetriesOption = Annotated[
    int | None,
    typer.Option(
        "--retries",
        metavar="N",
        help=f"With --from: retries of a failed request (default {DEFAULT_RETRIES}).",
    ),
]


def _remote(
    source: str, timeout: float | None, retries: int | None, *, quiet: bool = False
) -> Remote:
    if timeout is not None and not 0 < timeout <= 3600:
        raise CliError("--timeout: must be more than 0 and at most 3600 seconds", ExitCode.USAGE)
    if retries is not None and not 0 <= retries <= 10:
        raise CliError("--retries: must be between 0 and 10", ExitCode.USAGE)
    return Remote(
        source,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        retries=DEFAULT_RETRIES if retries is None else retries,
        quiet=quiet,
    )


def _only_with_from(**options: object) -> None:
    """Refuse the remote options without --from: silently ignoring them would mislead."""
    for name, value in options.items():
        if value is not None and value is not False:
            raise CliError(f"--{name.replace('_', '-')} only applies with --from", ExitCode.USAGE)


@app.command(epilog=EXIT_CODES_HELP)
def verify(
    folder: Annotated[
        Path | None,
        typer.Argument(metavar="DIR", help="The bundle folder to verify (or use --from)."),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option("--previous", metavar="DIR", help="The previous month's bundle folder."),
    ] = None,
    ledger: Annotated[
        Path | None,
        typer.Option("--ledger", metavar="FILE", help="Also check against this ledger."),
    ] = None,
    root: Annotated[
        str | None, typer.Option("--root", metavar="HEX", help="The published root to expect.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with the verdict.")
    ] = False,
    source: FromOption = None,
    period: Annotated[
        str | None,
        typer.Option("--period", metavar="YYYY-MM", help="With --from: the month to verify."),
    ] = None,
    all_months: Annotated[
        bool,
        typer.Option("--all", help="With --from: every published month, in order, chained."),
    ] = False,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save", metavar="DIR", help="With --from: keep the downloaded files in DIR."
        ),
    ] = None,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    quiet: Quiet = False,
) -> None:
    """Recompute everything the format defines and report the first difference.

    Checks the files against SHA256SUMS, the canonical manifest, every event line, the payouts
    from the events, figures and previous bundle, the Merkle root and the root; with --ledger
    the chain, that events.jsonl is exactly the ledger's lines of the month, and the head.
    With --from URL the month (or --all months) and the ledger are downloaded and checked the
    same way, against the root the server lists unless --root pins it.
    """
    expected_root = _root(root)
    if source is not None:
        _verify_from(
            source,
            folder,
            previous,
            ledger,
            expected_root,
            json_output,
            period,
            all_months,
            save,
            timeout,
            retries,
            quiet,
        )
        return
    _only_with_from(period=period, all=all_months, save=save, timeout=timeout, retries=retries)
    if folder is None:
        raise CliError("give the bundle folder DIR, or --from URL", ExitCode.USAGE)
    files = read_bundle_folder(folder)
    previous_files = read_bundle_folder(previous) if previous is not None else None
    scan = None
    if ledger is not None:
        try:
            manifest = parse_manifest(files.get(MANIFEST_FILE, b""))
        except BundleError:
            manifest = None
        if manifest is not None:
            scan = scan_ledger_file(
                ledger, period=manifest.period, mark_seq=manifest.ledger_head.seq, quiet=quiet
            )
    try:
        report = verify_bundle(
            files,
            previous=previous_files,
            ledger=scan,
            ledger_name=str(ledger),
            expected_root=expected_root,
            subject=str(folder),
        )
    except PreviousBundleError as exc:
        raise CliError(f"{folder}: {exc}", ExitCode.USAGE) from None
    _label_mismatch(report, folder, previous, ledger)
    _finish_report(report, json_output)


def _months(count: int) -> str:
    return f"{count} month" if count == 1 else f"{count} months"


def _verify_from(
    source: str,
    folder: Path | None,
    previous: Path | None,
    ledger: Path | None,
    expected_root: str | None,
    json_output: bool,
    period: str | None,
    all_months: bool,
    save: Path | None,
    timeout: float | None,
    retries: int | None,
    quiet: bool,
) -> None:
    if folder is not None:
        raise CliError("give either the bundle folder DIR or --from URL, not both", ExitCode.USAGE)
    if previous is not None or ledger is not None:
        raise CliError(
            "--previous and --ledger are downloaded with --from; leave them out", ExitCode.USAGE
        )
    if (period is None) == (not all_months):
        raise CliError("with --from, give exactly one of --period YYYY-MM or --all", ExitCode.USAGE)
    if all_months and expected_root is not None:
        raise CliError("--root pins one month's root; use it with --period", ExitCode.USAGE)
    remote = _remote(source, timeout, retries, quiet=quiet)
    months: list[FetchedMonth]
    if period is not None:
        months = [fetch_month(remote, _period(period), expected_root)]
    else:
        months = fetch_all(remote)
    reports = verify_months(remote, months, save)
    if period is not None:
        _finish_report(reports[0], json_output)
        return
    failed = [report for report in reports if report.mismatch is not None]
    if json_output:
        print_json(
            {
                "verified": not failed,
                "source": remote.base,
                "months": [report.as_json_object() for report in reports],
            }
        )
    else:
        for month, report in zip(months, reports, strict=True):
            print_month_line(month.period, report)
    if failed:
        first = failed[0].mismatch
        assert first is not None
        typer.echo(
            f"verification failed: {len(failed)} of {_months(len(reports))} from {remote.base}; "
            f"first: {first.message()}",
            err=True,
        )
        raise typer.Exit(int(ExitCode.VERIFICATION_FAILED))
    if not json_output:
        sys.stdout.write(f"verified: {_months(len(reports))} from {remote.base}\n")


def _finish_report(report: VerificationReport, json_output: bool) -> None:
    if json_output:
        print_json(report.as_json_object())
    else:
        print_report(report)
    if report.mismatch is not None:
        if not json_output:
            typer.echo(f"verification failed: {report.mismatch.message()}", err=True)
        raise typer.Exit(int(ExitCode.VERIFICATION_FAILED))


# prove, check-proof, explain -----------------------------------------------------------------


@app.command(epilog=EXIT_CODES_HELP)
def prove(
    contributor: Annotated[
        str, typer.Option("--contributor", metavar="KEY", help="e.g. github:583231")
    ],
    folder: Annotated[
        Path | None,
        typer.Argument(metavar="DIR", help="The bundle folder (or use --from)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write here instead of stdout.")
    ] = None,
    source: FromOption = None,
    period: Annotated[
        str | None, typer.Option("--period", metavar="YYYY-MM", help="With --from: the month.")
    ] = None,
    root: Annotated[
        str | None,
        typer.Option("--root", metavar="HEX", help="With --from: the published root to expect."),
    ] = None,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
) -> None:
    """Make the inclusion proof of one contributor's row (checkable with the root alone).

    With --from URL --period P the server's proof is downloaded and checked instead, against
    the root it lists for the month unless --root pins it.
    """
    if source is not None:
        if folder is not None:
            raise CliError(
                "give either the bundle folder DIR or --from URL, not both", ExitCode.USAGE
            )
        if period is None:
            raise CliError("--from needs --period YYYY-MM", ExitCode.USAGE)
        _prove_from(_remote(source, timeout, retries), _period(period), contributor, root, out)
        return
    _only_with_from(period=period, root=root, timeout=timeout, retries=retries)
    if folder is None:
        raise CliError("give the bundle folder DIR, or --from URL", ExitCode.USAGE)
    bundle = _checked_bundle(folder)
    try:
        proof = make_proof(bundle, contributor)
    except ProofError as exc:
        raise CliError(f"{folder}/{exc}", ExitCode.USAGE) from None
    data = proof.to_bytes()
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_file_atomically(out, data)
        typer.echo(
            f"wrote the proof of row {proof.index + 1} of {proof.tree_size} to {out}", err=True
        )


def _prove_from(
    remote: Remote, period: str, contributor: str, root: str | None, out: Path | None
) -> None:
    """Download the contributor's proof of the month and check it as `check-proof` does."""
    pinned = _root(root)
    month, versions = published_month(remote, period)
    version = versions.get(pinned, month.version) if pinned else month.version
    url = remote.url("periods", period, "proofs", contributor, version=version)
    data = remote.get(url)
    if out is not None:
        write_file_atomically(out, data)
    _check_proof_bytes(data, url, pinned or month.root)


@app.command("check-proof", epilog=EXIT_CODES_HELP)
def check_proof_command(
    proof_file: Annotated[Path, typer.Argument(metavar="FILE", help="A proof from `prove`.")],
    root: Annotated[
        str | None, typer.Option("--root", metavar="HEX", help="The published root to expect.")
    ] = None,
) -> None:
    """Check an inclusion proof: its row leads to the manifest, the manifest to the root."""
    expected_root = _root(root)
    _check_proof_bytes(read_bytes(proof_file, "proof"), str(proof_file), expected_root)


def _check_proof_bytes(data: bytes, name: str, expected_root: str | None) -> None:
    try:
        proof = parse_proof(data)
    except ProofError as exc:
        report = VerificationReport(subject=name)
        report.mismatch = Mismatch(file=name, reason=str(exc))
        _finish_report(report, json_output=False)
        return
    report = check_proof(proof, expected_root)
    report.subject = f"{name} ({proof.period})"
    if report.mismatch is not None:
        report.mismatch = dataclasses.replace(report.mismatch, file=name)
    row = proof.row
    if report.ok and row is not None:
        sys.stdout.write(
            f"{row.contributor} in {proof.period}: payout {row.payout_cents} "
            f"{proof.manifest.currency} cents (share {row.share_cents}, carried in "
            f"{row.carry_in_cents}, carried out {row.carry_out_cents}), "
            f"row {proof.index + 1} of {proof.tree_size}\n"
        )
    _finish_report(report, json_output=False)


@app.command(epilog=EXIT_CODES_HELP)
def statement(
    source: Annotated[
        str,
        typer.Option(
            "--from", metavar="URL", help="The server (https://, or http:// to this machine)."
        ),
    ],
    contributor: Annotated[
        str, typer.Option("--contributor", metavar="KEY", help="e.g. github:583231")
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the server's statement as it is.")
    ] = False,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
) -> None:
    """A contributor's history from a server: every month with a row, and the events."""
    remote = _remote(source, timeout, retries)
    url = remote.url("contributors", contributor, "statement")
    data = remote.get_json(url, "statement")
    if json_output:
        print_json(data)
        return
    currencies = {month.period: month.currency for month in published_months(remote)}
    try:
        print_statement(data, currencies)
    except (KeyError, TypeError, ValueError):
        raise CliError(f"{url}: not the statement expected") from None


@app.command(epilog=EXIT_CODES_HELP)
def explain(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="The bundle folder.")],
    contributor: Annotated[
        str, typer.Option("--contributor", metavar="KEY", help="e.g. github:583231")
    ],
) -> None:
    """Show a row's events and the arithmetic that led to its payout."""
    bundle = _checked_bundle(folder)
    try:
        explanation = explain_row(bundle, contributor)
    except NoSuchRowError as exc:
        raise CliError(f"{folder}/{exc}", ExitCode.USAGE) from None
    except EventError as exc:
        raise CliError(f"{folder}/events.jsonl: {exc}") from None
    print_explanation(explanation, bundle)


# score ---------------------------------------------------------------------------------------


@app.command(epilog=EXIT_CODES_HELP)
def score(
    payload: Annotated[
        Path, typer.Argument(metavar="PAYLOAD.json", help="A GitHub pull_request payload.")
    ],
    rules: Annotated[str, typer.Option("--rules", help="Rules version.")] = DEFAULT_RULES,
) -> None:
    """Show the event a GitHub pull request would produce, or why it produces none."""
    data = read_bytes(payload, "payload")
    try:
        result = score_pull_request(data, rules)
    except UnknownRulesError as exc:
        raise CliError(f"--rules: {exc}", ExitCode.USAGE) from None
    except PayloadError as exc:
        raise CliError(f"{payload}: {exc}") from None
    if isinstance(result, NotScored):
        sys.stdout.write(f"no event: {result.reason}\n")
        return
    draft = result.draft
    sys.stdout.write(f"{draft.id} by {draft.contributor}, merged {draft.occurred_at}\n")
    sys.stdout.write(f"rules {draft.rules}:\n")
    for line in result.explanation:
        sys.stdout.write(f"  {line}\n")
    sys.stdout.write(f"event: {canonical_json(draft.as_json_object()).decode()}\n")


# ledger --------------------------------------------------------------------------------------


@ledger_app.command("append", epilog=EXIT_CODES_HELP)
def ledger_append(  # noqa: PLR0912 - one check per documented refusal
    ledger: Annotated[Path, typer.Argument(metavar="LEDGER", help="The ledger file.")],
    event: Annotated[
        Path | None,
        typer.Option(
            "--event",
            metavar="FILE",
            help="A JSON object with the event's ten keys (no seq, prev, hash).",
        ),
    ] = None,
    from_pr: Annotated[
        Path | None,
        typer.Option("--from-pr", metavar="PAYLOAD.json", help="Score a GitHub PR payload (v1)."),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            metavar="YYYY-MM",
            help="With --from-pr: book into this month (default: the merge month).",
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Validate, seal and append one event atomically; refuses duplicates and broken chains."""
    if (event is None) == (from_pr is None):
        raise CliError("give exactly one of --event FILE or --from-pr PAYLOAD.json", ExitCode.USAGE)
    if period is not None and from_pr is None:
        raise CliError("--period only applies with --from-pr", ExitCode.USAGE)
    source: Path
    if event is not None:
        source = event
        try:
            draft = draft_from_json_object(parse_strict_json(read_bytes(event, "event")))
        except (CanonicalJsonError, EventError) as exc:
            raise CliError(f"{event}: {exc}") from None
    else:
        assert from_pr is not None
        source = from_pr
        try:
            result = score_pull_request(read_bytes(from_pr, "payload"))
        except PayloadError as exc:
            raise CliError(f"{from_pr}: {exc}") from None
        if isinstance(result, NotScored):
            typer.echo(f"no event: {result.reason}; nothing appended", err=True)
            return
        draft = result.draft
        if period is not None:
            _period(period)
            if period < period_of(draft.occurred_at):
                raise CliError(
                    f"--period {period} is before the merge month {period_of(draft.occurred_at)}",
                    ExitCode.USAGE,
                )
            draft = dataclasses.replace(draft, period=period)
    with ledger_lock(ledger):
        if ledger.exists():
            scan = scan_ledger_file(ledger, quiet=quiet)
            if scan.problem is not None:
                raise CliError(f"{_ledger_problem(ledger, scan)}; refusing to append")
            try:
                scan.check_new_event(draft)
            except EventError as exc:
                raise CliError(f"{source}: {exc}") from None
            head = scan.head
        else:
            head = EMPTY_LEDGER_HEAD
        try:
            sealed = seal(draft, head)
        except EventError as exc:
            raise CliError(f"{source}: {exc}") from None
        append_line_atomically(ledger, sealed.line())
    sys.stdout.buffer.write(sealed.line())
    sys.stdout.flush()
    typer.echo(f"appended seq {sealed.seq} to {ledger}", err=True)


@ledger_app.command("verify", epilog=EXIT_CODES_HELP)
def ledger_verify(
    ledger: Annotated[Path, typer.Argument(metavar="LEDGER", help="The ledger file.")],
    quiet: Quiet = False,
) -> None:
    """Check every line, the hash chain, unique ids and reversals; name the first bad seq."""
    scan = scan_ledger_file(ledger, quiet=quiet)
    if scan.problem is not None:
        typer.echo(f"verification failed: {_ledger_problem(ledger, scan)}", err=True)
        raise typer.Exit(int(ExitCode.VERIFICATION_FAILED))
    sys.stdout.write(
        f"verified: {ledger}, {scan.head.seq:,} events, head seq {scan.head.seq} "
        f"hash {scan.head.hash}\n"
    )


@ledger_app.command("synth", epilog=EXIT_CODES_HELP)
def ledger_synth(
    events: Annotated[int, typer.Option("--events", metavar="N", help="Number of events.")],
    contributors: Annotated[
        int, typer.Option("--contributors", metavar="K", help="Number of contributors.")
    ],
    periods: Annotated[
        str,
        typer.Option("--periods", metavar="YYYY-MM..YYYY-MM", help="First and last month."),
    ],
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Same seed, same bytes.")],
    quiet: Quiet = False,
) -> None:
    """Write a deterministic synthetic ledger to stdout (demos and benchmarks)."""
    first, separator, last = periods.partition("..")
    if not separator:
        raise CliError(f"--periods: expected YYYY-MM..YYYY-MM, found {periods!r}", ExitCode.USAGE)
    _period(first, "--periods"), _period(last, "--periods")
    if last < first:
        raise CliError(f"--periods: {last} is before {first}", ExitCode.USAGE)
    if first < "0001-01" or last > "9999-11":
        raise CliError("--periods: months must lie within 0001-01..9999-11", ExitCode.USAGE)
    if events < 0:
        raise CliError("--events: must be 0 or more", ExitCode.USAGE)
    if not 1 <= contributors <= 1_000_000:
        raise CliError("--contributors: must be between 1 and 1,000,000", ExitCode.USAGE)
    output = sys.stdout.buffer
    batch: list[bytes] = []
    with progress_bar(events, "writing ledger", quiet=quiet, unit="events") as advance:
        for line in synth_ledger(events, contributors, periods_between(first, last), seed):
            batch.append(line)
            if len(batch) >= 10_000:
                output.write(b"".join(batch))
                advance(len(batch))
                batch.clear()
        output.write(b"".join(batch))
    output.flush()
