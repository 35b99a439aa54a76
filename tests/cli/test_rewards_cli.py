"""`selflink rewards`: the contributor's session, exit codes and one-line errors."""

import calendar
import json
import shlex
from pathlib import Path

import pytest

from selflink_cli import ledger_scan
from selflink_core.rewards import EVENT_KINDS, parse_event_line, scan_ledger
from selflink_core.rewards.bundle import sums_file
from tests.cli.conftest import Run


def _calculate(run: Run, ledger: Path, period: str, out: Path, *extra: object):
    return run("calculate", "--ledger", ledger, "--period", period, "--out", out, *extra)


def test_synth_is_deterministic_valid_and_covers_every_kind(run: Run, ledger: Path):
    again = run(
        "ledger",
        "synth",
        "--events",
        300,
        "--contributors",
        12,
        "--periods",
        "2025-01..2025-03",
        "--seed",
        7,
    )
    assert again.stdout_bytes == ledger.read_bytes()
    other = run(
        "ledger",
        "synth",
        "--events",
        300,
        "--contributors",
        12,
        "--periods",
        "2025-01..2025-03",
        "--seed",
        8,
    )
    assert other.stdout_bytes != ledger.read_bytes()
    events = [parse_event_line(line) for line in ledger.read_bytes().splitlines(keepends=True)]
    assert {event.kind for event in events} == set(EVENT_KINDS)
    assert {event.period for event in events} == {"2025-01", "2025-02", "2025-03"}
    result = run("ledger", "verify", ledger)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"verified: {ledger}, 300 events")


def test_three_months_calculate_verify_prove_and_tamper(run: Run, ledger: Path, tmp_path: Path):
    previous = None
    roots = []
    for period in ("2025-01", "2025-02", "2025-03"):
        out = tmp_path / period
        extra = ["--revenue-cents", 123_456, "--costs-cents", 20_000, "--min-payout-cents", 1500]
        if previous is not None:
            extra += ["--previous", previous]
        result = _calculate(run, ledger, period, out, *extra)
        assert result.exit_code == 0, result.stderr
        root = result.stdout.splitlines()[-1]
        assert root.startswith("root: ")
        roots.append(root.removeprefix("root: "))
        assert sorted(p.name for p in out.iterdir()) == [
            "SHA256SUMS",
            "events.jsonl",
            "manifest.json",
            "payouts.csv",
        ]
        args = ["verify", out, "--ledger", ledger, "--root", roots[-1]]
        if previous is not None:
            args += ["--previous", previous]
        verified = run(*args)
        assert verified.exit_code == 0, verified.stderr
        assert verified.stdout.splitlines()[-1] == f"verified: {out}, root {roots[-1]}"
        previous = out

    march = tmp_path / "2025-03"
    contributor = next(
        line.split(",")[0] for line in (march / "payouts.csv").read_text().splitlines()[1:]
    )
    proof = tmp_path / "proof.json"
    assert run("prove", march, "--contributor", contributor, "--out", proof).exit_code == 0
    checked = run("check-proof", proof, "--root", roots[-1])
    assert checked.exit_code == 0, checked.stderr
    assert checked.stdout.startswith(f"{contributor} in 2025-03: payout")
    assert run("check-proof", proof, "--root", roots[0]).exit_code == 1

    explained = run("explain", march, "--contributor", contributor)
    assert explained.exit_code == 0
    assert "period_points" in explained.stdout

    payouts = march / "payouts.csv"
    data = bytearray(payouts.read_bytes())
    data[-3] = ord("7") if data[-3] != ord("7") else ord("8")
    payouts.write_bytes(bytes(data))
    failed = run("verify", march, "--previous", tmp_path / "2025-02")
    assert failed.exit_code == 1
    assert failed.stderr.startswith(f"verification failed: {march}/payouts.csv")
    assert "SHA256SUMS" in failed.stderr

    january = tmp_path / "2025-01"
    (january / "payouts.csv").write_bytes(b"tampered\n")
    tampered_previous = run("verify", tmp_path / "2025-02", "--previous", january)
    assert tampered_previous.exit_code == 1
    assert tampered_previous.stderr.startswith(f"verification failed: {january}/payouts.csv")

    needs_previous = run("verify", tmp_path / "2025-02")
    assert needs_previous.exit_code == 2
    assert "--previous" in needs_previous.stderr


def test_summaries_show_what_was_carried_in(run: Run, ledger: Path, tmp_path: Path):
    figures = ["--revenue-cents", 123_456, "--costs-cents", 20_000, "--min-payout-cents", 1500]
    january, february = tmp_path / "2025-01", tmp_path / "2025-02"
    assert _calculate(run, ledger, "2025-01", january, *figures).exit_code == 0
    result = _calculate(run, ledger, "2025-02", february, *figures, "--previous", january)
    assert result.exit_code == 0, result.stderr
    carried_out = json.loads((january / "manifest.json").read_text())["carry_out_cents"]
    assert carried_out > 0
    line = next(line for line in result.stdout.splitlines() if "carried in from last month" in line)
    assert f" {carried_out // 100:,}.{carried_out % 100:02d} USD " in line
    header, *rows = (february / "payouts.csv").read_text().splitlines()
    columns = header.split(",")
    row = next(
        dict(zip(columns, line.split(","), strict=True))
        for line in rows
        if int(line.split(",")[columns.index("carry_in_cents")]) > 0
    )
    proof = tmp_path / "proof.json"
    assert (
        run("prove", february, "--contributor", row["contributor"], "--out", proof).exit_code == 0
    )
    checked = run("check-proof", proof)
    assert checked.exit_code == 0, checked.stderr
    assert checked.stdout.startswith(
        f"{row['contributor']} in 2025-02: payout {row['payout_cents']} USD cents "
        f"(share {row['share_cents']}, carried in {row['carry_in_cents']}, "
        f"carried out {row['carry_out_cents']}), row "
    )


def test_json_outputs_are_one_object(run: Run, ledger: Path, tmp_path: Path):
    out = tmp_path / "jan"
    result = _calculate(run, ledger, "2025-01", out, "--json", "--revenue-cents", 1000)
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert set(document) == {"manifest", "root"}
    assert document["manifest"]["period"] == "2025-01"
    report = json.loads(run("verify", out, "--json").stdout)
    assert report["verified"] is True
    assert report["root"] == document["root"]


def test_output_folder_rules(run: Run, ledger: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert _calculate(run, ledger, "2025-01", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    refused = _calculate(run, ledger, "2025-01", out, "--revenue-cents", 5)
    assert refused.exit_code == 2
    assert "--force" in refused.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _calculate(run, ledger, "2025-01", out, "--revenue-cents", 5, "--force").exit_code == 0
    (out / "notes.txt").write_text("mine")
    refused = _calculate(run, ledger, "2025-01", out)
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"error: {out}: holds 'notes.txt', which is not a bundle file; "
        "write the bundle to a new or empty folder\n"
    )
    forced = _calculate(run, ledger, "2025-01", out, "--force")
    assert forced.exit_code == 2
    assert "'notes.txt'" in forced.stderr
    assert "refusing to delete it" in forced.stderr
    assert (out / "notes.txt").exists()
    only_foreign = tmp_path / "notes"
    only_foreign.mkdir()
    (only_foreign / "todo.txt").write_text("mine")
    refused = _calculate(run, ledger, "2025-01", only_foreign)
    assert refused.exit_code == 2
    assert "'todo.txt'" in refused.stderr
    assert "--force" not in refused.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_previous_bundle_of_the_wrong_month(run: Run, ledger: Path, tmp_path: Path):
    assert _calculate(run, ledger, "2025-01", tmp_path / "jan").exit_code == 0
    result = _calculate(run, ledger, "2025-03", tmp_path / "mar", "--previous", tmp_path / "jan")
    assert result.exit_code == 2
    assert "must be for 2025-02" in result.stderr
    assert not (tmp_path / "mar").exists()


@pytest.mark.parametrize(
    ("corrupt", "where", "reason"),
    [
        (lambda line: line.replace(b'"points":', b'"points":1.', 1), "line 42 (seq 42)", "float"),
        (
            lambda line: line.replace(b"{", b'{"note":"x",', 1),
            "line 42 (seq 42)",
            "unknown key 'note'",
        ),
        (
            lambda line: line.replace(b'"period":"2025-01"', b'"period":"2025-13"'),
            "line 42 (seq 42)",
            "period",
        ),
        (lambda line: line.replace(b'"seq":42', b'"seq":420'), "line 42 (seq 420)", "seq"),
        (lambda line: b"not json\n", "line 42", "not valid JSON"),
    ],
)
def test_malformed_ledger_lines_are_named_and_nothing_is_written(
    run: Run, ledger: Path, tmp_path: Path, corrupt, where, reason
):
    lines = ledger.read_bytes().splitlines(keepends=True)
    lines[41] = corrupt(lines[41])
    ledger.write_bytes(b"".join(lines))
    out = tmp_path / "out"
    result = _calculate(run, ledger, "2025-01", out)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: {ledger} {where}: ")
    assert reason in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not out.exists()
    verified = run("ledger", "verify", ledger)
    assert verified.exit_code == 1
    assert verified.stderr.startswith(f"verification failed: {ledger} {where}: ")
    assert len(verified.stderr.splitlines()) == 1


def test_a_tampered_hash_is_named_by_line_and_seq(run: Run, ledger: Path):
    lines = ledger.read_bytes().splitlines(keepends=True)
    event = json.loads(lines[6])
    lines[6] = lines[6].replace(event["hash"].encode(), b"0" * 64)
    ledger.write_bytes(b"".join(lines))
    verified = run("ledger", "verify", ledger)
    assert verified.exit_code == 1
    assert verified.stderr.startswith(
        f"verification failed: {ledger} line 7 (seq 7): hash: does not match"
    )


def test_usage_errors_exit_2(run: Run, ledger: Path, tmp_path: Path):
    assert _calculate(run, ledger, "2025-13", tmp_path / "o").exit_code == 2
    assert _calculate(run, ledger, "2025-01", tmp_path / "o", "--pool-bps", 10001).exit_code == 2
    assert _calculate(run, ledger, "2025-01", tmp_path / "o", "--currency", "usd").exit_code == 2
    assert _calculate(run, ledger, "2025-01", tmp_path / "o", "--revenue-cents", -1).exit_code == 2
    assert run("verify", tmp_path, "--root", "xyz").exit_code == 2
    assert (
        run(
            "ledger",
            "synth",
            "--events",
            1,
            "--contributors",
            1,
            "--periods",
            "2025-02..2025-01",
            "--seed",
            1,
        ).exit_code
        == 2
    )


def test_unreadable_inputs_exit_3(run: Run, tmp_path: Path):
    missing = tmp_path / "missing.jsonl"
    result = _calculate(run, missing, "2025-01", tmp_path / "o")
    assert result.exit_code == 3
    assert str(missing) in result.stderr
    assert run("verify", tmp_path / "nothing").exit_code == 3
    assert run("score", missing).exit_code == 3


def _event_file(tmp_path: Path, **changes: object) -> Path:
    event = {
        "contributor": "github:9",
        "id": "bounty:1",
        "kind": "bounty",
        "occurred_at": "2025-01-02T03:04:05Z",
        "period": "2025-01",
        "points": 50,
        "ref": "https://x.example/1",
        "reverses": "",
        "rules": "manual",
        "source_sha256": "",
    }
    event.update(changes)
    path = tmp_path / f"event-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(event, indent=2))
    return path


def test_ledger_append(run: Run, tmp_path: Path):
    ledger = tmp_path / "new" / "ledger.jsonl"
    ledger.parent.mkdir()
    first = run("ledger", "append", ledger, "--event", _event_file(tmp_path))
    assert first.exit_code == 0, first.stderr
    assert parse_event_line(first.stdout_bytes).seq == 1
    duplicate = run("ledger", "append", ledger, "--event", _event_file(tmp_path))
    assert duplicate.exit_code == 3
    assert "already in the ledger at seq 1" in duplicate.stderr
    reversal = _event_file(tmp_path, id="r1", kind="reversal", points=-50, reverses="bounty:1")
    assert run("ledger", "append", ledger, "--event", reversal).exit_code == 0
    again = _event_file(tmp_path, id="r2", kind="reversal", points=-50, reverses="bounty:1")
    assert "already reversed" in run("ledger", "append", ledger, "--event", again).stderr
    floating = _event_file(tmp_path, id="f", points=1.5)
    assert run("ledger", "append", ledger, "--event", floating).exit_code == 3
    assert scan_ledger(ledger.read_bytes().splitlines(keepends=True)).head.seq == 2

    ledger.write_bytes(ledger.read_bytes()[:-1])
    broken = run("ledger", "append", ledger, "--event", _event_file(tmp_path, id="x"))
    assert broken.exit_code == 3
    assert "refusing to append" in broken.stderr


def test_ledger_append_from_a_pull_request(run: Run, tmp_path: Path):
    payload = tmp_path / "pr.json"
    payload.write_text(
        json.dumps(
            {
                "action": "closed",
                "pull_request": {
                    "number": 7,
                    "html_url": "https://github.com/o/r/pull/7",
                    "merged": True,
                    "merged_at": "2025-01-31T23:59:59Z",
                    "user": {"id": 5, "type": "User"},
                    "labels": [{"name": "size:s"}],
                    "base": {"repo": {"full_name": "O/R"}},
                },
            }
        )
    )
    ledger = tmp_path / "ledger.jsonl"
    assert (
        run("ledger", "append", ledger, "--from-pr", payload, "--period", "2024-12").exit_code == 2
    )
    appended = run("ledger", "append", ledger, "--from-pr", payload, "--period", "2025-02")
    assert appended.exit_code == 0, appended.stderr
    event = parse_event_line(appended.stdout_bytes)
    assert (event.id, event.period, event.points) == ("github:pr:o/r#7", "2025-02", 3)
    scored = run("score", payload)
    assert scored.stdout.splitlines()[-1].startswith('event: {"contributor":"github:5"')
    both = run("ledger", "append", ledger, "--from-pr", payload, "--event", payload)
    assert both.exit_code == 2


def test_parallel_scan_matches_a_single_pass(ledger: Path, monkeypatch):
    lines = ledger.read_bytes().splitlines(keepends=True)
    lines[200] = lines[200].replace(b'"seq":201', b'"seq":2010')
    ledger.write_bytes(b"".join(lines))
    single = scan_ledger(lines, period="2025-02")
    monkeypatch.setattr(ledger_scan, "PARALLEL_THRESHOLD", 2)
    for workers in (2, 3, 7):
        parallel = ledger_scan.scan_ledger_file(ledger, period="2025-02", workers=workers)
        assert parallel.problem == single.problem
        assert parallel.period_events == single.period_events


def test_the_session_in_the_docs_runs_as_shown(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    doc = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    session = doc.split("## A contributor's session")[1].split("```")[1]
    steps: list[tuple[str, list[str]]] = []
    for line in session.strip().splitlines():
        if line.startswith("$ selflink rewards "):
            steps.append((line.removeprefix("$ selflink rewards "), []))
        elif line != "…":
            steps[-1][1].append(line)
    monkeypatch.chdir(tmp_path)
    roots: dict[str, str] = {}

    def filled(text: str) -> str:
        for month, root in roots.items():
            text = text.replace(f"<{month} root>", root)
        return text

    for step, shown in steps:
        command, _, redirect = filled(step).partition(" > ")
        result = run(*shlex.split(command))
        assert result.exit_code == 0, (command, result.stderr)
        if redirect:
            Path(redirect).write_bytes(result.stdout_bytes)
        if command.startswith("calculate "):
            period = command.split("--period ")[1][:7]
            roots[calendar.month_name[int(period[5:])].lower()] = result.stdout.split()[-1]
        for line in shown:
            assert filled(line) in result.stdout.splitlines(), (command, line)


def test_prove_refuses_payouts_its_manifest_does_not_describe(
    run: Run, ledger: Path, tmp_path: Path
):
    out = tmp_path / "2025-01"
    assert _calculate(run, ledger, "2025-01", out, "--revenue-cents", 100_000).exit_code == 0
    payouts = (out / "payouts.csv").read_bytes()
    changed = payouts[:-2] + (b"8" if payouts[-2:-1] != b"8" else b"9") + b"\n"
    (out / "payouts.csv").write_bytes(changed)
    files = {name: (out / name).read_bytes() for name in ("events.jsonl", "manifest.json")}
    (out / "SHA256SUMS").write_bytes(
        sums_file(files["events.jsonl"], files["manifest.json"], changed)
    )
    contributor = payouts.splitlines()[1].split(b",")[0].decode()
    result = run("prove", out, "--contributor", contributor)
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {out}/manifest.json: payouts_sha256 or merkle_root does not match payouts.csv; "
        f"run `selflink rewards verify {out}`\n"
    )
