"""Download the course DICOM series, each file checked against the sha256 in the package's manifest.

The manifest (``dicom_course_manifest.csv``, one row per file: relative path, bytes, sha256 and the
upstream URL where the upstream file is byte-identical) describes the course data folder that
notebooks 06 and 07 and the tests read (``$MEDGANBENCH_DICOM``). A mirror serves the same relative
paths (``URL/ct_dcmqa_ge_head/01.dcm``); ``base_url`` points at one. Files are downloaded into a
temporary folder inside ``dest`` and moved into place only when every one of them has the right size
and hash, so a failed fetch leaves nothing partial behind.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from medganbench.errors import MedGanBenchError

# The project's mirror of the course data (same relative paths as MANIFEST.csv). The MR series were
# re-encoded losslessly for size (see SOURCES.md), so only a mirror serves them with these hashes.
DEFAULT_BASE_URL = "https://github.com/medganbench/medganbench-data/raw/v1/dicom"
COURSE_SERIES = ("ct_dcmqa_ge_head", "mr_datalad_t1w_deflated")
ALL_SERIES = ("ct_dcmqa_ge_head", "mr_datalad_t1w_deflated", "mr_datalad_bold_vol001", "odd")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ManifestEntry:
    path: str          # relative, with forward slashes
    bytes: int
    sha256: str
    upstream_url: str  # "" when only a mirror has the file


def manifest() -> list[ManifestEntry]:
    """Every file of the course DICOM data, as shipped in the package."""
    text = resources.files("medganbench.data").joinpath("dicom_course_manifest.csv").read_text()
    return [ManifestEntry(r["path"], int(r["bytes"]), r["sha256"], r["upstream_url"])
            for r in csv.DictReader(text.splitlines())]


def select(series: tuple[str, ...] | list[str]) -> list[ManifestEntry]:
    unknown = sorted(set(series) - set(ALL_SERIES))
    if unknown:
        raise MedGanBenchError(f"unknown DICOM series {unknown}; choose from {', '.join(ALL_SERIES)}")
    return [e for e in manifest() if e.path.split("/", 1)[0] in series]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _is_good(path: Path, entry: ManifestEntry) -> bool:
    return path.is_file() and path.stat().st_size == entry.bytes and _sha256(path) == entry.sha256


def _download(url: str, target: Path, entry: ManifestEntry, timeout: float, bar) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(target, "wb") as out:
            for block in iter(lambda: resp.read(_CHUNK), b""):
                size += len(block)
                if size > entry.bytes:
                    raise MedGanBenchError(f"{entry.path}: {url} sends more than the {entry.bytes} bytes in the "
                                           f"manifest; wrong file or mirror")
                h.update(block)
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
    except urllib.error.HTTPError as exc:
        raise MedGanBenchError(f"{entry.path}: {url} answered HTTP {exc.code}; the mirror lacks this file "
                               f"(check --base-url)") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MedGanBenchError(f"{entry.path}: cannot download {url} ({reason}); offline? Copy the course "
                               f"DICOM folder by hand and set MEDGANBENCH_DICOM (see docs/dicom.md)") from None
    if size != entry.bytes or h.hexdigest() != entry.sha256:
        raise MedGanBenchError(f"{entry.path}: downloaded file from {url} does not match the manifest "
                               f"(size {size} vs {entry.bytes}, sha256 {h.hexdigest()[:12]}… vs "
                               f"{entry.sha256[:12]}…); corrupt or wrong mirror, nothing was kept")


def fetch(dest: str | os.PathLike, base_url: str | None = None, series=COURSE_SERIES, progress: bool = True,
          timeout: float = 30.0) -> dict[str, int]:
    """Fetch ``series`` into ``dest``; return counts of files ``downloaded`` and already ``present``.

    ``base_url`` (a mirror with MANIFEST.csv's relative paths) replaces every source; without it a file
    comes from its upstream repository where that copy is identical, else from the project's mirror.
    Files already in ``dest`` with the right hash are kept. Any failure raises one
    :class:`MedGanBenchError` naming the file, and leaves ``dest`` as it was.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise MedGanBenchError(f"{dest} is a file; --dest must be a folder")
    entries = select(list(series))
    todo = [e for e in entries if not _is_good(dest / e.path, e)]
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm
        bar = tqdm(total=sum(e.bytes for e in todo), unit="B", unit_scale=True, desc="DICOM")
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest))
    try:
        for e in todo:
            url = f"{base_url.rstrip('/')}/{e.path}" if base_url else (e.upstream_url or
                                                                       f"{DEFAULT_BASE_URL}/{e.path}")
            _download(url, staging / e.path, e, timeout, bar)
        for e in todo:  # everything verified: move into place
            (dest / e.path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / e.path, dest / e.path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if bar is not None:
            bar.close()
    _write_manifest(dest)
    return {"downloaded": len(todo), "present": len(entries) - len(todo)}


def _write_manifest(dest: Path) -> None:
    """``dest/MANIFEST.csv`` lists the files now in ``dest`` (the loaders and tests recognise the folder)."""
    rows = [e for e in manifest() if (dest / e.path).is_file()]
    tmp = dest / ".MANIFEST.csv.part"
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["path", "bytes", "sha256"])
        writer.writerows([e.path, e.bytes, e.sha256] for e in rows)
    os.replace(tmp, dest / "MANIFEST.csv")


def require_course_dicom(root: str | os.PathLike, series=COURSE_SERIES) -> Path:
    """Check that ``root`` holds the course series (by file presence, no hashing); else say what to do."""
    root = Path(root)
    missing = [s for s in series if not any((root / s).glob("*.dcm"))]
    if missing:
        raise MedGanBenchError(
            f"the course DICOM series {', '.join(missing)} are not in {root.resolve()}: run "
            f"`medganbench dicom fetch --dest {root}` (needs a network), or copy the folders "
            f"{', '.join(series)} there by hand, or set MEDGANBENCH_DICOM to the folder that holds them")
    return root
