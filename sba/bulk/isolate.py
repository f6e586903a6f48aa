"""Running a bulk run in a child process that dies with its parent and exits without freeing its heap."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from sba.errors import RunKilledError

__all__ = ["die_with_parent", "in_child"]


def die_with_parent(parent: int | None = None) -> None:
    """Have the kernel kill this process when its parent dies (Linux), so a
    killed run leaves no worker behind to write more chunks."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:  # the parent is already gone
        os._exit(1)


def in_child(run: Callable, progress: Callable[[int, int], None] | None):
    """``run(progress)`` in a forked child that exits without tearing down its heap.

    Freeing millions of geometries one by one takes seconds at the end of a
    city-sized run; a child process hands the summary (or the exception) back
    through a pipe and leaves with ``os._exit``, so the memory goes back to the
    system at once.  Progress calls are forwarded to ``progress`` here.
    """
    import pickle

    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            die_with_parent(parent)
            os.close(read_fd)
            with os.fdopen(write_fd, "wb") as pipe:
                def send(*msg):
                    pickle.dump(msg, pipe)
                    pipe.flush()

                try:
                    send("done", run(lambda done, total: send("progress", done, total)))
                except BaseException as err:  # every failure goes back to the parent
                    try:
                        send("error", err)
                    except Exception:  # an exception that does not pickle
                        send("error", RuntimeError(str(err)))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    outcome = None
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            while outcome is None:
                try:
                    msg = pickle.load(pipe)
                except EOFError:
                    break
                if msg[0] == "progress":
                    if progress:
                        progress(msg[1], msg[2])
                else:
                    outcome = msg
    except BaseException:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise
    # wait for the child even when the result is in: its CPU time and memory
    # are then counted for this process (time, benchmarks)
    _, status = os.waitpid(pid, 0)
    if outcome is None:
        how = f"was killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else "stopped"
        raise RunKilledError(
            f"The reassessment process {how} before it finished (often the system running out of memory); "
            "run again with fewer --workers or a smaller --chunk-size, adding --resume to keep the finished chunks."
        )
    if outcome[0] == "error":
        raise outcome[1]
    return outcome[1]
