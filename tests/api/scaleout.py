"""Our own PostgreSQL and Redis servers, and SelfLink's API and worker processes around them,
for the scale-out and fault tests: killing or restarting these never disturbs the shared
services (5432, 6379) the rest of the suite uses. Loopback only; every wait is bounded.

initdb refuses to run as root, so under root the cluster belongs to the `postgres` user
(`runuser`). A missing binary skips, or fails under CI=true (like the shared services).
"""

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.api.conftest import TEST_SECRET_KEY, migrate
from tests.api.services import run_sync, unavailable
from tests.servers import SELFLINK_API, free_port, wait_until_serving

REPOSITORY = Path(__file__).resolve().parents[2]
SERVER_SECONDS = 30
"""The longest a server gets to start or stop."""


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        unavailable(name, "not installed")
    return found[-1]


def _as_postgres_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class OwnPostgres:
    folder: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        command = [_binary("pg_ctl"), "-D", str(self.data), "-w", "-t", str(SERVER_SECONDS)]
        subprocess.run(
            _as_postgres_user([*command, *args]),
            check=True,
            capture_output=True,
            timeout=SERVER_SECONDS + 5,
        )

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(
            _as_postgres_user(
                [_binary("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N"]
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-l", str(self.folder / "server.log"), "-o", options, "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def create_database(self) -> str:
        import asyncpg

        name = f"selflink_{uuid.uuid4().hex[:8]}"

        async def create() -> None:
            connection = await asyncpg.connect(self.dsn(), timeout=10)
            try:
                await connection.execute(f'CREATE DATABASE "{name}"')
            finally:
                await connection.close()

        run_sync(create)
        return name

    def execute(self, database: str, *statements: str) -> list[list[tuple[object, ...]]]:
        import asyncpg

        async def run() -> list[list[tuple[object, ...]]]:
            connection = await asyncpg.connect(self.dsn(database), timeout=10)
            try:
                return [
                    [tuple(row) for row in await connection.fetch(statement)]
                    for statement in statements
                ]
            finally:
                await connection.close()

        return run_sync(run)


@contextlib.contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    folder = Path(tempfile.mkdtemp(prefix="selflink-pg-"))  # not under root's private /tmp dirs
    server = OwnPostgres(folder)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class OwnRedis:
    folder: Path
    port: int = field(default_factory=free_port)
    process: "subprocess.Popen[bytes] | None" = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server", "not installed")
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + SERVER_SECONDS
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=SERVER_SECONDS)


@contextlib.contextmanager
def own_redis() -> Iterator[OwnRedis]:
    with tempfile.TemporaryDirectory(prefix="selflink-redis-") as folder:
        server = OwnRedis(Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@dataclass
class Processes:
    """SelfLink's processes of one test: API servers and SAQ workers, sharing a database and
    Redis, each in its own process group (a worker may run its jobs in a child)."""

    folder: Path
    database_url: str
    redis_url: str
    settings: dict[str, str] = field(default_factory=dict)
    started: list["subprocess.Popen[bytes]"] = field(default_factory=list)
    workers: list["subprocess.Popen[bytes]"] = field(default_factory=list)
    queue: str = field(default_factory=lambda: f"scaleout-{uuid.uuid4().hex[:8]}")

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "REDIS_", "SELFLINK_", "LITESTAR_"))
        }
        return (
            env
            | {
                "LITESTAR_APP": "tests.api.scaleout_app:create_app",
                "PYTHONPATH": str(REPOSITORY),
                "DATABASE_URL": self.database_url,
                "DATABASE_POOL_SIZE": "5",
                "REDIS_URL": self.redis_url,
                "SELFLINK_JOB_QUEUE": self.queue,
                "SELFLINK_JOB_HEARTBEAT_SECONDS": "2",
                "SELFLINK_SHUTDOWN_GRACE_SECONDS": "10",
                # the suite's other processes share the cores: workers must not wait behind them
                "SELFLINK_WORKER_NICENESS": "0",
                "SECRET_KEY": TEST_SECRET_KEY,
                "SELFLINK_MIGRATE_ON_STARTUP": "false",
                "RATE_LIMIT_PER_MINUTE": "100000",
                "AUTH_ATTEMPTS_PER_IP": "10000",
                "ARGON2_TIME_COST": "1",
                "ARGON2_MEMORY_KIB": "1024",
                "ARGON2_PARALLELISM": "1",
                "MEDIA_STORAGE_URL": (self.folder / "media").as_uri(),
            }
            | self.settings
        )

    def _start(self, name: str, *args: str) -> "subprocess.Popen[bytes]":
        log = self.folder / f"{name}.log"
        process = subprocess.Popen(
            [SELFLINK_API, *args],
            cwd=self.folder,
            env=self.env() | {"LOG_FILE": str(log)},
            stdout=(self.folder / f"{name}.out").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def apis(self, count: int, first: int = 0) -> list[tuple[str, "subprocess.Popen[bytes]"]]:
        """Start `count` API processes side by side; return once each serves `/health`."""
        started = []
        for index in range(first, first + count):
            port = free_port()
            process = self._start(f"api-{index}", "run", "--host", "127.0.0.1", "--port", str(port))
            started.append((f"http://127.0.0.1:{port}", process, index))
        for url, process, index in started:
            wait_until_serving(url, process, self.folder / f"api-{index}.out")
        return [(url, process) for url, process, _ in started]

    def worker(self, index: int) -> "subprocess.Popen[bytes]":
        process = self._start(f"worker-{index}", "workers", "run")
        self.workers.append(process)
        return process

    def wait_for_workers(self, count: int) -> None:
        """Until workers 0..count-1 have started their SAQ loop (each logs "Worker starting"),
        plus a moment for its first sweep. (A job dequeued during a sweep can be swept by
        mistake: SAQ marks it active just after moving it, see docs/operations.md.)"""

        def started() -> bool:
            logs = [self.folder / f"worker-{index}.log" for index in range(count)]
            return all(log.exists() and "Worker starting" in log.read_text() for log in logs)

        wait_for(started, SERVER_SECONDS * 4, f"{count} workers to start")
        time.sleep(0.5)

    def output(self) -> str:
        return "".join(
            path.read_text(errors="replace") for path in sorted(self.folder.glob("*.out"))
        )

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                # Workers would wait their whole shutdown grace: the test is over, kill them.
                stop = signal.SIGKILL if process in self.workers else signal.SIGTERM
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, stop)
        for process in self.started:
            try:
                process.wait(timeout=SERVER_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


@contextlib.contextmanager
def selflink_processes(
    folder: Path, database_url: str, redis_url: str, **settings: str
) -> Iterator[Processes]:
    processes = Processes(folder, database_url, redis_url, settings)
    try:
        yield processes
    finally:
        processes.stop_all()


def prepared_database(postgres: OwnPostgres) -> str:
    """A new database on `postgres`, migrated, with the probe's tables; returns its name."""
    from tests.api.scaleout_app import PROBE_TABLES

    name = postgres.create_database()
    migrate(postgres.dsn(name))
    postgres.execute(name, *PROBE_TABLES)
    return name


def wait_for(
    condition: Callable[[], object], seconds: float, what: str, interval: float = 0.1
) -> None:
    """Poll `condition()` until it is true; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(interval)
