"""``medganbench dicom fetch`` against a local mirror: verified files, and failures that leave nothing."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import time
from pathlib import Path

import pytest

from medganbench.data import dicom_fetch
from medganbench.errors import MedGanBenchError

SERIES = "ct_dcmqa_ge_head"


@pytest.fixture
def mirror(dicom_root: Path, tmp_path: Path):
    """A copy of one course series served on 127.0.0.1 (the shared data stays read-only)."""
    root = tmp_path / "mirror"
    shutil.copytree(dicom_root / SERIES, root / SERIES)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _dcm(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.dcm")) if folder.exists() else []


def test_manifest_matches_the_course_data(dicom_root: Path):
    shipped = {e.path: e.sha256 for e in dicom_fetch.manifest()}
    import csv
    with open(dicom_root / "MANIFEST.csv") as fh:
        real = {r["path"]: r["sha256"] for r in csv.DictReader(fh)}
    assert shipped == real
    assert all(e.upstream_url.endswith(e.path.rsplit("/", 1)[1]) for e in dicom_fetch.select([SERIES]))


@pytest.mark.slow
def test_fetch_from_a_mirror_then_nothing_to_do(cli, mirror, tmp_path: Path):
    _, url = mirror
    dest = tmp_path / "dicom"
    proc = cli("dicom", "fetch", "--dest", str(dest), "--base-url", url, "--series", SERIES, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "28 file(s) downloaded" in proc.stdout
    assert len(_dcm(dest)) == 28 and (dest / "MANIFEST.csv").is_file()
    assert not list(dest.glob(".fetch-*")), "staging folder left behind"
    # a second run hashes what is there and downloads nothing, even with the mirror gone
    counts = dicom_fetch.fetch(dest, base_url="http://127.0.0.1:9", series=[SERIES], progress=False)
    assert counts == {"downloaded": 0, "present": 28}
    dicom_fetch.require_course_dicom(dest, series=[SERIES])


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_bad_file_fails_fast_naming_it_and_keeps_nothing(mirror, tmp_path: Path, damage: str):
    root, url = mirror
    victim = root / SERIES / "17.dcm"
    if damage == "corrupt":
        data = bytearray(victim.read_bytes())
        data[-100] ^= 0xFF
        victim.write_bytes(bytes(data))
    else:
        victim.unlink()
    dest = tmp_path / "dicom"
    start = time.perf_counter()
    with pytest.raises(MedGanBenchError) as err:
        dicom_fetch.fetch(dest, base_url=url, series=[SERIES], progress=False)
    assert time.perf_counter() - start < 60
    msg = str(err.value)
    assert f"{SERIES}/17.dcm" in msg
    assert ("does not match the manifest" in msg) if damage == "corrupt" else ("HTTP 404" in msg)
    assert _dcm(dest) == [] and not list(dest.glob(".fetch-*")), "a failed fetch left files behind"


def test_offline_error_says_where_to_put_the_files(tmp_path: Path):
    with pytest.raises(MedGanBenchError, match="cannot download .*MEDGANBENCH_DICOM"):
        dicom_fetch.fetch(tmp_path / "d", base_url="http://127.0.0.1:9", series=[SERIES], progress=False,
                          timeout=5)
    with pytest.raises(MedGanBenchError, match="dicom fetch --dest"):
        dicom_fetch.require_course_dicom(tmp_path / "empty")
    with pytest.raises(MedGanBenchError, match="unknown DICOM series"):
        dicom_fetch.select(["../etc"])
