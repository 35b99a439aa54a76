"""File-system side of `selflink rewards`: reading inputs, writing bundles and ledgers atomically.

Nothing is ever half-written: a bundle is written into a temporary sibling folder and renamed
into place; a ledger append writes a complete copy next to the ledger and renames it over.
"""

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from selflink_cli.errors import CliError, ExitCode
from selflink_core.rewards import BUNDLE_FILES

if sys.platform != "win32":
    import fcntl


def read_bytes(path: Path, what: str) -> bytes:
    """The bytes of `path`, or a one-line error (exit 3) naming it."""
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise CliError(f"{path}: is a folder, expected a {what} file") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def read_bundle_folder(folder: Path) -> dict[str, bytes]:
    """Every entry of a bundle folder by name; anything that is not a file reads as empty."""
    if not folder.is_dir():
        reason = "does not exist" if not folder.exists() else "is not a folder"
        raise CliError(f"{folder}: {reason}; expected a bundle folder")
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise CliError(f"{folder}: cannot list the bundle folder: {exc.strerror}") from None
    return {
        entry.name: read_bytes(entry, "bundle") if entry.is_file() else b"" for entry in entries
    }


def check_output_folder(out: Path, *, force: bool) -> None:
    """Refuse (exit 2) an output that is a file, or a non-empty folder without `--force`.

    With `--force` only a previous bundle is replaced: a folder holding anything else is refused
    rather than deleted.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise CliError(f"{out}: exists and is not a folder", ExitCode.USAGE)
    names = sorted(entry.name for entry in out.iterdir())
    if not names:
        return
    foreign = [name for name in names if name not in BUNDLE_FILES]
    if foreign:
        # --force would not help, so the message does not suggest it.
        raise CliError(
            f"{out}: holds {foreign[0]!r}, which is not a bundle file; "
            + ("refusing to delete it" if force else "write the bundle to a new or empty folder"),
            ExitCode.USAGE,
        )
    if not force:
        raise CliError(
            f"{out}: the output folder is not empty; pass --force to replace the bundle in it",
            ExitCode.USAGE,
        )


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _fsync_folder(folder: Path) -> None:
    if sys.platform == "win32":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_durably(path: Path, data: bytes) -> None:
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_bundle_folder(out: Path, files: Mapping[str, bytes], *, force: bool) -> None:
    """Put the bundle's files in `out` all at once: written aside, then renamed into place."""
    check_output_folder(out, force=force)
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
        staging.chmod(0o777 & ~_umask())
    except OSError as exc:
        raise CliError(f"{out}: cannot create the output folder: {exc.strerror}") from None
    try:
        for name, data in files.items():
            _write_durably(staging / name, data)
        _fsync_folder(staging)
        if out.exists() and any(out.iterdir()):
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
            os.replace(out, retired / out.name)
            os.replace(staging, out)
            shutil.rmtree(retired)
        else:
            os.replace(staging, out)
        _fsync_folder(parent)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise CliError(f"{out}: cannot write the bundle: {exc.strerror or exc}") from None


def write_file_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` via a temporary sibling, so readers never see a partial file."""
    parent = path.absolute().parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise CliError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        os.chmod(temporary, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CliError(f"{path}: cannot write: {exc.strerror or exc}") from None


@contextlib.contextmanager
def ledger_lock(ledger: Path) -> Iterator[None]:
    """Hold an exclusive lock on the ledger's folder so concurrent appends cannot interleave."""
    folder = ledger.absolute().parent
    if not folder.is_dir():
        raise CliError(f"{ledger}: the folder {folder} does not exist")
    if sys.platform == "win32":
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def append_line_atomically(ledger: Path, line: bytes) -> None:
    """Append `line` by writing a complete new ledger beside the old one and renaming it over.

    A crash leaves either the old ledger or the new one, never a torn last line.
    """
    parent = ledger.absolute().parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{ledger.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise CliError(f"{ledger}: cannot append: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            if ledger.exists():
                with ledger.open("rb") as source:
                    shutil.copyfileobj(source, stream, 1 << 20)
                shutil.copymode(ledger, temporary)
            else:
                os.chmod(temporary, 0o666 & ~_umask())
            stream.write(line)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, ledger)
        _fsync_folder(parent)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CliError(f"{ledger}: cannot append: {exc.strerror or exc}") from None
