"""The worked example of docs/rewards-format.md, built by the code (the test checks the doc)."""

from pathlib import Path

from selflink_core.rewards import (
    EMPTY_LEDGER_HEAD,
    EventDraft,
    Figures,
    LedgerHead,
    build_bundle,
    make_proof,
    scan_ledger,
    seal,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "rewards-format.md"
PERIOD = "2025-01"
FIGURES = Figures(currency="USD", revenue_cents=10_000, costs_cents=2_000, min_payout_cents=500)
PROVE = "github:583231"

DRAFTS = [
    EventDraft(
        id="github:pr:selflink/selflink#1",
        period="2025-01",
        occurred_at="2025-01-14T09:30:00Z",
        contributor="github:583231",
        kind="pr_merged",
        points=5,
        rules="v1",
        ref="https://github.com/selflink/selflink/pull/1",
        source_sha256="9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab",
    ),
    EventDraft(
        id="bounty:2025-01:1",
        period="2025-01",
        occurred_at="2025-01-20T16:00:00Z",
        contributor="github:1234",
        kind="bounty",
        points=20,
        rules="manual",
        ref="https://selflink.example/bounties/1 \u201cdark mode\u201d",
    ),
    EventDraft(
        id="github:pr:selflink/selflink#2",
        period="2025-01",
        occurred_at="2025-01-22T11:05:09Z",
        contributor="github:1234",
        kind="pr_merged",
        points=3,
        rules="v1",
        ref="https://github.com/selflink/selflink/pull/2",
    ),
    EventDraft(
        id="reversal:2025-01:1",
        period="2025-01",
        occurred_at="2025-01-23T08:00:00Z",
        contributor="github:1234",
        kind="reversal",
        points=-3,
        rules="manual",
        ref="PR #2 was reverted",
        reverses="github:pr:selflink/selflink#2",
    ),
    EventDraft(
        id="github:pr:selflink/selflink#3",
        period="2025-02",
        occurred_at="2025-02-01T10:00:00Z",
        contributor="github:583231",
        kind="pr_merged",
        points=8,
        rules="v1",
        ref="https://github.com/selflink/selflink/pull/3",
    ),
]


def example_blocks() -> dict[str, str]:
    """Every generated block of the worked example, by the name the doc marks it with."""
    head = EMPTY_LEDGER_HEAD
    lines = []
    for draft in DRAFTS:
        event = seal(draft, head)
        lines.append(event.line())
        head = LedgerHead(event.seq, event.hash)
    scan = scan_ledger(lines, period=PERIOD)
    assert scan.problem is None
    bundle = build_bundle(PERIOD, scan.period_events, FIGURES, ledger_head=scan.head)
    files = bundle.files()
    blocks = {"ledger.jsonl": b"".join(lines).decode()}
    blocks.update({name: data.decode() for name, data in files.items()})
    blocks["root"] = bundle.root + "\n"
    blocks["proof"] = make_proof(bundle, PROVE).to_bytes().decode()
    return blocks


def doc_blocks(text: str) -> dict[str, str]:
    """The fenced blocks that follow `<!-- example: NAME -->` markers in the doc."""
    blocks = {}
    parts = text.split("<!-- example: ")
    for part in parts[1:]:
        name, _, rest = part.partition(" -->")
        fence_start = rest.index("```")
        body_start = rest.index("\n", fence_start) + 1
        body_end = rest.index("\n```", body_start) + 1
        blocks[name] = rest[body_start:body_end]
    return blocks


if __name__ == "__main__":
    for block_name, content in example_blocks().items():
        print(f"<!-- example: {block_name} -->\n```\n{content}```\n")
