"""Developer and CI sessions: `uv run nox -s tests lint typecheck arch fuzz golden`."""

import glob
import os

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "typecheck", "arch", "fuzz", "tests"]
nox.options.reuse_existing_virtualenvs = True

# pyenv keeps 3.12 and 3.13 out of PATH unless selected; make them findable for `golden`.
for _bin in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[123].*/bin"))):
    os.environ["PATH"] = f"{os.environ['PATH']}{os.pathsep}{_bin}"

PYTHONS = ["3.11", "3.12", "3.13"]


def _sync(session: nox.Session, *args: str) -> None:
    """Install the locked project into the session's own virtualenv."""
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The whole suite, on SQLite and PostgreSQL (and Redis for jobs)."""
    session.run("uv", "run", "--frozen", "pytest", *session.posargs, external=True)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    session.run("uv", "run", "--frozen", "ruff", "check", ".", external=True)
    session.run("uv", "run", "--frozen", "ruff", "format", "--check", ".", external=True)


@nox.session(python=False)
def typecheck(session: nox.Session) -> None:
    session.run("uv", "run", "--frozen", "mypy", external=True)


@nox.session(python=False)
def arch(session: nox.Session) -> None:
    session.run("uv", "run", "--frozen", "lint-imports", external=True)


@nox.session(python=False)
def fuzz(session: nox.Session) -> None:
    """Schemathesis over every operation of the OpenAPI document, signed in and not, on SQLite.

    `tests/api/fuzz_openapi.py` is not a `test_*` file, so the plain `pytest` run skips it.
    """
    session.run(
        "uv",
        "run",
        "--frozen",
        "pytest",
        "tests/api/fuzz_openapi.py",
        *session.posargs,
        external=True,
    )


@nox.session(python=PYTHONS)
def golden(session: nox.Session) -> None:
    """The byte-exact golden tests on each supported interpreter, core and CLI only."""
    _sync(session, "--no-default-groups", "--group", "golden")
    session.run("pytest", "-p", "no:cacheprovider", "tests/golden", *session.posargs)
