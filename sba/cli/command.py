"""``sba``: stormwater billable area from the command line.

Every mistake a user can make ends in one plain sentence on stderr and a
non-zero exit code, never a traceback (``--debug`` shows one).
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import warnings

from sba.cli import estimate, measure, rates, reassess, requests
from sba.cli.args import Parser, UsageError

EXIT_USAGE = 2  # bad input: the user can fix it
EXIT_INTERNAL = 1  # our bug
EXIT_BROKEN_PIPE = 141  # what a shell reports for a program ended by SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    """The ``sba`` parser with every command (each command module adds its own)."""
    p = Parser(prog="sba", description="Measure stormwater billable area and estimate charges.")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks for errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in (estimate, measure, reassess, rates, requests):
        command.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the ``sba`` command line on ``argv`` (default: the process arguments); returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    with warnings.catch_warnings():
        if not debug:
            # library warnings (pyogrio's "bad application_id", shapely's "invalid
            # value encountered") are noise to a user: what matters is in our message
            warnings.simplefilter("ignore")
        return _main(argv, debug)


def _main(argv: list[str], debug: bool) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "command", None):
            raise UsageError(
                "Say which command to run: estimate, measure, reassess or rates. Run 'sba --help' for more."
            )
        return args.func(args)
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as cat does
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except UsageError as err:
        print(f"sba: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sba: stopped.", file=sys.stderr)
        return 130
    except BaseException as err:  # one sentence for users, the traceback with --debug
        if isinstance(err, SystemExit):
            raise
        from categorize import BillingError
        from gis import GISInputError
        from sba.errors import RunKilledError, SbaError

        if debug:
            raise
        if isinstance(err, RunKilledError):
            print(f"sba: error: {err}", file=sys.stderr)
            return EXIT_INTERNAL
        if isinstance(err, GISInputError | BillingError | SbaError):
            print(f"sba: error: {err}", file=sys.stderr)
            return EXIT_USAGE
        if _is_write_failure(err):
            return _write_failed(err)
        if isinstance(err, MemoryError):
            print("sba: error: the input is too large for this machine's memory; "
                  "split it into parts or use 'sba reassess' with --workers.", file=sys.stderr)
            return EXIT_INTERNAL
        print(f"sba: internal error ({type(err).__name__}: {err}). This is a bug in sba; "
              "please report it with the output of the same command run with --debug.", file=sys.stderr)
        return EXIT_INTERNAL


#: errors of a write the user can fix (a full disk, a quota, a read-only or failing device), not our bugs
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}


def _is_write_failure(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in _WRITE_ERRNOS


def _write_failed(err: OSError) -> int:
    """Say that the output (stdout, e.g. ``> /dev/full``) could not be written, once, and stop writing it."""
    _silence_stdout()
    print(f"sba: error: the output could not be written: {err.strerror}.", file=sys.stderr)
    return EXIT_INTERNAL


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that flushing what is left cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run() -> None:
    """The ``sba`` command: :func:`main`, then leave without tearing the interpreter down.

    Everything the command writes is closed and renamed into place before
    ``main`` returns; what is left is Python finalising pandas, pyarrow and
    GEOS module state, which took 0.14 s of a 3 s bulk run.

    Nothing in sba multiplies matrices, so numpy's OpenBLAS gets one thread (unless
    the user says otherwise): its pool starts with numpy and spins on the other core
    while sba is still starting up (0.08 s of CPU at each ``sba reassess``).
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # e.g. piped into head
        code = code or EXIT_BROKEN_PIPE
    except OSError as err:  # what was left in stdout's buffer met a full disk
        if not _is_write_failure(err):
            raise
        code = code or _write_failed(err)
    os._exit(code)


if __name__ == "__main__":
    run()
