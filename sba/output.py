"""Writing outputs safely: checked paths, atomic writes, a full disk in one sentence, one run per output.

Nothing half-written is ever visible under an output's name: every file is
written to a hidden temporary name in the same folder and renamed into place
(``os.replace`` is atomic on one filesystem), and the temporary file is
removed when writing fails.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sba.errors import OutputError, RunLockedError

__all__ = ["OUTPUT_SUFFIXES", "OutputLock", "check_output_path", "same_file", "write_atomic"]

OUTPUT_SUFFIXES = (".parquet", ".csv", ".gpkg")

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def check_output_path(out: str | Path, inputs: Mapping[str, str | Path | None] | None = None,
                      suffixes: tuple[str, ...] = OUTPUT_SUFFIXES) -> Path:
    """``out`` as a Path, refused at once if the run could not write it at the end, if it does not end
    in one of ``suffixes``, or if it is one of the run's ``inputs`` (``{"parcels input": path, ...}``):
    writing the result would replace that file."""
    out = Path(out)
    for which, path in (inputs or {}).items():
        if path is not None and same_file(out, Path(path)):
            raise OutputError(f"The output {out.name!r} is the {which}; choose another file name, "
                              "or the result would replace it.")
    kinds = " or ".join([", ".join(suffixes[:-1]), suffixes[-1]] if len(suffixes) > 1 else suffixes)
    if out.is_dir():
        raise OutputError(f"The output {str(out)!r} is a folder; give a file name ending in {kinds}.")
    if out.suffix.lower() not in suffixes:
        raise OutputError(f"The output {out.name!r} must end in {kinds}.")
    if not out.parent.is_dir():
        raise OutputError(f"The folder for the output ({out.parent}) does not exist; create it first.")
    try:  # permissions, read-only disks, /proc: only trying tells (root passes os.access)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.probe"):
            pass
    except OSError as err:
        raise OutputError(f"Cannot write in the folder {str(out.parent)!r} ({err.strerror or err}); "
                          "choose a folder you can write to.") from err
    return out


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through links and ``./``); a missing ``a`` is no file yet."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it to ``path``.

    A full disk or quota becomes one :class:`OutputError`; the temporary file
    is removed whatever happens, so ``path`` is either the old file or the new.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        if isinstance(err, OutputError):
            raise
        raise _output_error(err, path) from err
    finally:
        if tmp.exists():
            tmp.unlink()


def _output_error(err: OSError, path: Path) -> OutputError:
    code = getattr(err, "errno", None)
    if code in _FULL or "No space left" in str(err):
        return OutputError(f"The disk is full: {path.name} could not be written to {path.parent}; "
                           "free some space (or choose another folder) and run again with --resume.")
    return OutputError(f"{path.name} could not be written to {path.parent} ({err.strerror or err}).")


class OutputLock:
    """``<out>.lock`` held while a run writes ``out``; a second run is refused.

    The lock file names the holder's host and process id.  A lock left by a
    run that was killed (its process is gone on this host) is stale and is
    taken over; a lock held by a live process, or by another host, refuses.
    """

    def __init__(self, out: Path):
        self.path = Path(out).with_name(Path(out).name + ".lock")
        self._held = False

    def __enter__(self) -> OutputLock:
        me = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        for _ in range(2):  # at most one stale lock to take over
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is not None and not self._stale(holder):
                    raise RunLockedError(
                        f"Another sba run (process {holder.get('pid')} on {holder.get('host')}) is writing "
                        f"{self.path.name[:-5]}; wait for it to finish, or choose another --out. If that run "
                        f"is gone, delete {self.path}."
                    ) from None
                self.path.unlink(missing_ok=True)
                continue
            except OSError as err:
                raise _output_error(err, self.path) from err
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self._held = True
            return self
        raise RunLockedError(f"Could not take the lock {self.path}; another run is starting. Try again.")

    def _holder(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None  # torn or unreadable: a run died while writing it

    @staticmethod
    def _stale(holder: dict) -> bool:
        if holder.get("host") != socket.gethostname():
            return False
        try:
            os.kill(int(holder.get("pid")), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, TypeError, ValueError):
            return False
        return False

    def __exit__(self, *exc) -> None:
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False


# --------------------------------------------------------------------------
# CSV cells a spreadsheet will not run

#: A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting with = + - @, a tab or CR gets a leading '.

    >>> spreadsheet_cell('=HYPERLINK("https://evil.example")'), spreadsheet_cell("-3"), spreadsheet_cell(-3)
    ('\\'=HYPERLINK("https://evil.example")', "'-3", -3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def spreadsheet_safe(frame):
    """``frame`` (a pandas DataFrame) with every text cell through :func:`spreadsheet_cell`; numbers,
    decimals and missing values as they are.  Cost: one pass over the text columns."""
    out = frame.copy(deep=False)
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            out[col] = out[col].map(spreadsheet_cell, na_action="ignore")
    return out


def from_spreadsheet_cell(value: Any) -> Any:
    """What :func:`spreadsheet_cell` was given: its leading ' taken off again."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value
