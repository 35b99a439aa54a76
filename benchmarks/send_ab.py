"""A message send's CPU in the API process, code against code, in interleaved bursts.

Run: `uv run python benchmarks/send_ab.py --code before=/tmp/old/src --code after=src`
(`git worktree add /tmp/old <commit>` gives the old code; each `--code` is a `src` folder put
first on the `PYTHONPATH` of its own `selflink-api run`). Options: `--sqlite` (default
PostgreSQL + Redis, no worker: the jobs wait in Redis), `--cycles 16 --burst 2 --clients 8`;
needs `wrk`.

Why not two runs of `realtime.py`: this machine's speed drifts by more than a change is worth
within minutes (a pure-Python loop of 10 million additions took 0.9 to 1.5 s in one hour on
2026-12-08), so runs minutes apart do not compare. Here every server is up at once, each with
its own database and 100 people in 10 groups of 10; `wrk` sends messages (a new client id
each) to one server for `--burst` seconds, then to the next, the order reversed every cycle,
and each server's CPU (from `/proc`) is summed over its own bursts only. Listing a code twice
shows the noise that remains (up to 7% on 2026-12-08).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
from realtime import (
    PASSWORD,
    admin,
    free_port,
    run_api,
    server_environment,
    stop,
    wait_serving,
)

SEND = r"""
local n = 0
request = function()
  n = n + 1
  local target = targets[(n % #targets) + 1]
  local body = '{"client_id":"PREFIX-' .. n .. '","text":"benchmark message"}'
  local headers = {["Content-Type"] = "application/json"}
  headers["Authorization"] = "Bearer " .. target[2]
  return wrk.format("POST", "/api/v1/threads/" .. target[1] .. "/messages", headers, body)
end
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(label: str, source: str, folder: Path, sqlite: bool) -> dict[str, Any]:
    folder.mkdir()
    env, database = server_environment(folder, postgres=not sqlite)
    env["PYTHONPATH"] = str(Path(source).resolve())
    port = free_port()
    process = run_api(folder, env, port)
    server = {"label": label, "process": process, "database": database, "folder": folder}
    server |= {"url": f"http://127.0.0.1:{port}", "requests": 0, "cpu": 0.0}
    return server


def seed(server: dict[str, Any]) -> None:
    """100 people in 10 groups; the wrk script's targets: (thread, member's token) pairs."""
    url, tag, people = server["url"], uuid.uuid4().hex[:6], []
    wait_serving(url, server["process"])
    with httpx.Client(timeout=60) as http:
        for index in range(100):
            handle = f"s{tag}_{index}"
            body = {"email": f"{handle}@example.org", "password": PASSWORD, "handle": handle}
            answer = http.post(f"{url}/api/v1/auth/register", json=body)
            answer.raise_for_status()
            people.append((handle, answer.json()["session"]["access_token"]))
        targets = []
        for start_at in range(0, 100, 10):
            members = people[start_at : start_at + 10]
            answer = http.post(
                f"{url}/api/v1/threads/groups",
                json={"title": f"g{start_at}", "members": [handle for handle, _ in members[1:]]},
                headers={"Authorization": f"Bearer {members[0][1]}"},
            )
            answer.raise_for_status()
            targets += [(answer.json()["id"], token) for _, token in members]
    listed = ",".join(f'{{"{thread}","{token}"}}' for thread, token in targets)
    server["targets"] = f"targets = {{{listed}}}\n"


def burst(server: dict[str, Any], seconds: int, clients: int, *, counted: bool = True) -> None:
    script = server["folder"] / "send.lua"
    script.write_text(server["targets"] + SEND.replace("PREFIX", uuid.uuid4().hex[:12]))
    before = cpu_seconds(server["process"].pid)
    command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "-s", str(script), server["url"]]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    spent = cpu_seconds(server["process"].pid) - before
    if "Non-2xx" in output:
        raise SystemExit(f"{server['label']}: sends refused\n{output}")
    if counted:
        server["requests"] += int(re.search(r"(\d+) requests in", output).group(1))
        server["cpu"] += spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", action="append", required=True, help="LABEL=SRC_FOLDER")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--cycles", type=int, default=16)
    parser.add_argument("--burst", type=int, default=2, help="seconds")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    servers: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="selflink-send-ab-") as tmp:
        try:
            for index, code in enumerate(args.code):
                label, _, source = code.partition("=")
                servers.append(start(label, source, Path(tmp) / str(index), args.sqlite))
            for server in servers:
                seed(server)
                burst(server, 3, args.clients, counted=False)  # warm: statements, pool
            for cycle in range(args.cycles):
                for server in servers if cycle % 2 == 0 else reversed(servers):
                    burst(server, args.burst, args.clients)
        finally:
            for server in servers:
                stop(server["process"])
                if server["database"]:
                    asyncio.run(
                        admin(f'DROP DATABASE IF EXISTS "{server["database"]}" WITH (FORCE)')
                    )
    first = servers[0]["cpu"] * 1000 / servers[0]["requests"]
    print(f"{'PostgreSQL + Redis' if not args.sqlite else 'SQLite'}, {args.clients} clients")
    print("| code | sends | API CPU ms per send | against the first | sends/s |")
    print("|---|---|---|---|---|")
    for server in servers:
        spent = server["cpu"] * 1000 / server["requests"]
        rate = server["requests"] / (args.cycles * args.burst)
        print(
            f"| {server['label']} | {server['requests']} | {spent:.3f} | "
            f"{(spent / first - 1) * 100:+.1f}% | {rate:.0f} |"
        )


if __name__ == "__main__":
    main()
