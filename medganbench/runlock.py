"""One live run per run folder: a lock file beside the folder, held while the run lives.

Two trainings given the same ``--out`` used to both exit 0 with their logs mixed and one run's work
silently overwritten, and ``--overwrite`` could delete a run that was still training. Now
:func:`hold_run_lock` is taken before a run folder is touched:

- the lock is ``<parent>/.<name>.lock`` (beside the folder, so ``--overwrite`` deleting the folder
  never deletes the lock it holds), created atomically and recording pid, host and start time;
- while held, an OS advisory lock (``fcntl.flock``, released by the kernel when the process dies,
  even on ``kill -9``) marks it live; a second run gets :class:`RunLocked`, one line naming the
  folder, the pid and what to do;
- a lock file left by a process that died is stale: it is reported (pid, start time) on stderr and
  taken over; the run goes on;
- on exit (normal, error or Ctrl-C) the lock file is removed.

Where ``fcntl`` is missing (Windows), liveness falls back to "does that pid still exist on this host".
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import sys
from pathlib import Path

from medganbench.errors import MedGanBenchError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class RunLocked(MedGanBenchError):
    """Another live process holds the run folder."""


def lock_path(run_dir: str | os.PathLike) -> Path:
    """Where the lock of ``run_dir`` lives: ``<parent>/.<name>.lock``."""
    run_dir = Path(run_dir).absolute()
    return run_dir.parent / f".{run_dir.name}.lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _holder(info: dict) -> str:
    return f"pid {info.get('pid', '?')} on {info.get('host', '?')}, started {info.get('started', '?')}"


class RunLock:
    """The lock of one run folder; use :func:`hold_run_lock` (a context manager) rather than this directly."""

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self.path = lock_path(run_dir)
        self._fd: int | None = None
        self.stale: dict | None = None  # the dead holder found and replaced, if any
        self._made: list[Path] = []  # parent folders created for the lock (removed again if left empty)

    def acquire(self) -> RunLock:
        p = self.path.parent
        while not p.exists():
            self._made.append(p)
            p = p.parent
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # a racing process may remove or replace the file between our steps
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise MedGanBenchError(f"cannot create the run lock {self.path} ({exc.strerror}); "
                                       "is the folder writable?") from None
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    info = _read(self.path)
                    os.close(fd)
                    raise RunLocked(self._busy(info)) from None
                # We hold the kernel lock; make sure the file we locked is still the one at the path.
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(self.path))
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
            previous = _read(self.path)
            if previous and previous.get("pid") != os.getpid():
                if fcntl is None and previous.get("host") == socket.gethostname() and \
                        _pid_alive(int(previous.get("pid", -1))):
                    os.close(fd)
                    raise RunLocked(self._busy(previous))
                self.stale = previous
            me = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  "run": str(self.run_dir)}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(me).encode(), 0)
            os.fsync(fd)
            self._fd = fd
            return self
        raise RunLocked(f"run folder {self.run_dir} is being locked by another process right now; try again.")

    def _busy(self, info: dict) -> str:
        return (f"run folder {self.run_dir} is in use by a live run ({_holder(info)}); wait for it to finish, "
                f"stop it, or choose another --out (--overwrite never replaces a live run).")

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)  # closing drops the flock
        self._fd = None
        for folder in self._made:  # a run that failed early leaves no empty folders behind
            try:
                folder.rmdir()
            except OSError:
                break


@contextlib.contextmanager
def hold_run_lock(run_dir: str | os.PathLike, report=None):
    """Hold the lock of ``run_dir`` for the ``with`` block; raises :class:`RunLocked` if a live run holds it.

    A stale lock (its process died) is reported through ``report`` (default: one line on stderr) and taken over.
    """
    lock = RunLock(run_dir).acquire()
    if lock.stale:
        msg = (f"medganbench: note: {lock.path} was left by a run that is no longer alive "
               f"({_holder(lock.stale)}); taking it over.")
        (report or (lambda m: print(m, file=sys.stderr)))(msg)
    try:
        yield lock
    finally:
        lock.release()
