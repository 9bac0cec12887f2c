"""Output folders: checked before any work, and not left behind empty when a command fails early.

``eval`` once found out that ``--out`` was read-only after 86 s of metrics; a failed ``train`` left an
empty run folder. :func:`check_writable` answers "could this folder be created and written?" at once,
without creating anything; :func:`output_dir` creates it for the duration of a command and removes
the folders it created if the command fails while they are still empty. :func:`describe_os_error`
turns an ``OSError`` (read-only file system, disk full, permission denied) into one line naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from medganbench.errors import MedGanBenchError


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def check_writable(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Raise :class:`MedGanBenchError` unless ``path`` is (or can be created as) a writable folder.

    Nothing is created: the nearest existing ancestor must be a folder in which a file can be made (a
    probe file is created and removed there, which also catches read-only mounts that ``os.access``
    misses).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise MedGanBenchError(f"{what} {path} exists and is not a folder; give a folder path.")
    base = _nearest_existing(path.absolute())
    if not base.is_dir():
        raise MedGanBenchError(f"{what} {path} cannot be created: {base} is a file, not a folder.")
    try:
        fd, probe = tempfile.mkstemp(prefix=".medganbench-write-test-", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise MedGanBenchError(f"{what} {path} is not writable ({base}: {exc.strerror or exc}); "
                               "choose another folder or fix its permissions.") from None
    return path


@contextlib.contextmanager
def output_dir(path: str | os.PathLike, what: str = "output folder"):
    """Check, create and yield ``path``; on an exception, remove the folders made here if still empty."""
    path = Path(path)
    check_writable(path, what)
    made = []
    p = path.absolute()
    while not p.exists():
        made.append(p)
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        for folder in made:  # innermost first; stop at the first one that holds something
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def describe_os_error(exc: OSError) -> str:
    """One line for an ``OSError`` raised while writing or reading a file: the path and what to do."""
    if exc.filename is None and exc.errno is None:  # not about a file at all (e.g. a TimeoutError): say what it was
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first}" if first else f"{type(exc).__name__}."
    where = exc.filename or "a file"
    if exc.filename2:
        where = f"{exc.filename} -> {exc.filename2}"
    hint = {errno.ENOSPC: "the disk is full; free space or choose another --out",
            errno.EROFS: "the file system is read-only; choose another --out",
            errno.EACCES: "permission denied; choose another folder or fix its permissions",
            errno.EPERM: "operation not permitted; choose another folder or fix its permissions",
            errno.EDQUOT: "the disk quota is exceeded; free space or choose another --out"}.get(exc.errno)
    return f"{where}: {exc.strerror or type(exc).__name__}" + (f" ({hint})" if hint else "") + "."
