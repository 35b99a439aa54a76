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
from selflink_cli.rewards_output import (
    Quiet,
    print_bundle_summary,
    print_explanation,
    print_json,
    print_report,
    progress_bar,
)
from selflink_cli.rewards_synth import periods_between, synth_ledger
from selflink_core.rewards import (
    DEFAULT_RULES,
    EMPTY_LEDGER_HEAD,
    MANIFEST_FILE,
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
    "3 unreadable or malformed input."
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
    prefix = "previous bundle/"
    if mismatch.file.startswith(prefix):
        name = f"{previous}/{mismatch.file.removeprefix(prefix)}"
    elif ledger is not None and mismatch.file == str(ledger):
        name = str(ledger)
    else:
        name = f"{folder}/{mismatch.file}"
    report.mismatch = dataclasses.replace(mismatch, file=name)


@app.command(epilog=EXIT_CODES_HELP)
def verify(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="The bundle folder to verify.")],
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
    quiet: Quiet = False,
) -> None:
    """Recompute everything the format defines and report the first difference.

    Checks the files against SHA256SUMS, the canonical manifest, every event line, the payouts
    from the events, figures and previous bundle, the Merkle root and the root; with --ledger
    the chain, that events.jsonl is exactly the ledger's lines of the month, and the head.
    """
    expected_root = _root(root)
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
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="The bundle folder.")],
    contributor: Annotated[
        str, typer.Option("--contributor", metavar="KEY", help="e.g. github:583231")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Make the inclusion proof of one contributor's row (checkable with the root alone)."""
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


@app.command("check-proof", epilog=EXIT_CODES_HELP)
def check_proof_command(
    proof_file: Annotated[Path, typer.Argument(metavar="FILE", help="A proof from `prove`.")],
    root: Annotated[
        str | None, typer.Option("--root", metavar="HEX", help="The published root to expect.")
    ] = None,
) -> None:
    """Check an inclusion proof: its row leads to the manifest, the manifest to the root."""
    expected_root = _root(root)
    data = read_bytes(proof_file, "proof")
    try:
        proof = parse_proof(data)
    except ProofError as exc:
        report = VerificationReport(subject=str(proof_file))
        report.mismatch = Mismatch(file=str(proof_file), reason=str(exc))
        _finish_report(report, json_output=False)
        return
    report = check_proof(proof, expected_root)
    report.subject = f"{proof_file} ({proof.period})"
    if report.mismatch is not None:
        report.mismatch = dataclasses.replace(report.mismatch, file=str(proof_file))
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
