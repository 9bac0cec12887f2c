"""Read ``.npz`` files that may come from anyone, without trusting them.

``numpy.load`` is fine for files we wrote, but on a file from elsewhere it fails in ways a user
cannot act on: a file that is not a zip gets a message suggesting ``allow_pickle=True`` (which would
run code hidden in a pickle), and a header claiming 10¹² images ends in a ``MemoryError`` traceback.
:func:`read_npz` checks, before allocating anything:

- the file starts like a zip archive (an npz is a zip of ``.npy`` files); a bare ``.npy`` is named as such;
- every wanted member has a valid ``.npy`` header, a dtype without Python objects (never unpickled), and
  a shape whose size in bytes equals what the archive actually stores for it;
- the stored size is plausible for the compressed size (a lying zip directory cannot make us allocate
  terabytes).

Every problem raises :class:`~medganbench.errors.MedGanBenchError` naming the file and what is wrong.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from medganbench.errors import MedGanBenchError

#: Deflate cannot compress better than about 1032:1; a member claiming more is lying about its size.
MAX_DEFLATE_RATIO = 1100
#: numpy's own default limit for ``.npy`` header sizes (numpy.lib.format).
MAX_HEADER_SIZE = 10000


class MissingArray(MedGanBenchError, KeyError):
    """A wanted array is not in the npz (``key`` is its name)."""

    def __init__(self, path: Path, key: str, found: list[str]):
        self.key = key
        self.found = found
        super().__init__(f"{path} has no {key!r} array (found: {', '.join(found) or 'nothing'})")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _header(fp, path: Path, key: str):
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp, max_header_size=MAX_HEADER_SIZE)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp, max_header_size=MAX_HEADER_SIZE)
        else:
            shape, fortran, dtype = fmt._read_array_header(fp, version, max_header_size=MAX_HEADER_SIZE)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise MedGanBenchError(f"{path}: array {key!r} has no valid .npy header ({exc}).") from None
    return shape, dtype


def array_names(path: str | Path) -> list[str]:
    """Names of the arrays in an npz (after the same checks as :func:`read_npz`, without reading data)."""
    path = Path(path)
    with _open_zip(path) as zf:
        return [n[:-4] for n in zf.namelist() if n.endswith(".npy")]


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise MedGanBenchError(f"No npz file at {path}.")
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head.startswith(b"\x93NUMPY"):
        raise MedGanBenchError(f"{path} is a single .npy array, not an .npz; save it with numpy.savez(path, "
                               f"images=..., labels=...).")
    if not head.startswith(b"PK"):
        raise MedGanBenchError(f"{path} is not an .npz file (an npz is a zip archive of .npy arrays, written by "
                               f"numpy.savez); check the file name and how it was saved.")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise MedGanBenchError(f"{path} is not a readable .npz file (damaged zip archive: {exc}).") from None


def read_npz(path: str | Path, keys: Iterable[str], optional: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """Read the arrays ``keys`` (required) and ``optional`` (when present) from an untrusted npz.

    Returns ``{name: array}``. Raises :class:`MissingArray` for a missing required key and
    :class:`MedGanBenchError` for any other problem, always naming ``path``.
    """
    path = Path(path)
    keys, optional = list(keys), list(optional)
    out: dict[str, np.ndarray] = {}
    with _open_zip(path) as zf:
        members = {n[:-4]: n for n in zf.namelist() if n.endswith(".npy")}
        for key in keys + optional:
            if key not in members:
                if key in keys:
                    raise MissingArray(path, key, sorted(members))
                continue
            info = zf.getinfo(members[key])
            if info.compress_type != zipfile.ZIP_STORED and info.file_size > info.compress_size * MAX_DEFLATE_RATIO + (1 << 20):
                raise MedGanBenchError(f"{path}: array {key!r} claims {info.file_size} bytes from "
                                       f"{info.compress_size} compressed bytes, which no zip can hold; the file is "
                                       "damaged or crafted.")
            try:
                with zf.open(info) as fp:
                    shape, dtype = _header(fp, path, key)
                    header_len = fp.tell()
                    if dtype.hasobject:
                        raise MedGanBenchError(f"{path}: array {key!r} holds Python objects ({dtype}); the kit only "
                                               f"reads plain numeric arrays and never unpickles data.")
                    claimed = math.prod(shape) * dtype.itemsize
                    stored = info.file_size - header_len
                    if claimed != stored:
                        raise MedGanBenchError(f"{path}: array {key!r} claims shape {tuple(shape)} of {dtype} "
                                               f"({claimed} bytes) but the file stores {stored} bytes for it; the "
                                               "file is damaged or crafted.")
                with zf.open(info) as fp:
                    out[key] = np.lib.format.read_array(fp, allow_pickle=False, max_header_size=MAX_HEADER_SIZE)
            except MedGanBenchError:
                raise
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, MemoryError) as exc:
                raise MedGanBenchError(f"{path}: array {key!r} could not be read ({type(exc).__name__}: {exc}); "
                                       "the file is damaged.") from None
    return out
