"""DICOM series that stay geometrically honest, bad slices that do not stop a prepare, pseudonyms nobody can recompute.

Every series here is a handful of copies of one 64x64 MR slice (``odd/ts_mr_small/MR_small.dcm``) with
edited geometry and identifiers, written to ``tmp_path``; only the RT Dose case reads a shared file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest

from medganbench.data.dicom import load_series, scan, slice_normal
from medganbench.data.dicom_prepare import PrepareConfig, prepare
from medganbench.errors import MedGanBenchError

AXIAL = [1, 0, 0, 0, 1, 0]
SAGITTAL = [0, 1, 0, 0, 0, -1]
CORONAL = [1, 0, 0, 0, 0, -1]


@pytest.fixture(scope="module")
def mr_small(dicom_root):
    return pydicom.dcmread(dicom_root / "odd" / "ts_mr_small" / "MR_small.dcm")


def _write(src, path: Path, *, iop=AXIAL, along: float = 0.0, series: str = "1.2.3.4", sop: str | None = None,
           patient: str = "4MR1", implicit: bool = False, offset: int = 0) -> Path:
    ds = src.copy()
    ds.ImageOrientationPatient = list(iop)
    ds.ImagePositionPatient = [float(v) for v in np.asarray(slice_normal(iop)) * along]
    ds.SeriesInstanceUID = series
    ds.SOPInstanceUID = sop or pydicom.uid.generate_uid()
    ds.PatientID = patient
    # the same ramp on every slice, so no slice is dropped as background whatever the window
    px = (np.add.outer(np.arange(64), np.arange(64)) * 5 + offset).astype(np.uint16)
    ds.PixelData = px.tobytes()
    if implicit:
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
        ds.save_as(path, implicit_vr=True, little_endian=True)
    else:
        ds.save_as(path)
    return path


def _truncate(path: Path, by: int = 1000) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-by])


# ---------------------------------------------------------------------------------------------- bad slices

@pytest.mark.parametrize("implicit", [False, True])
def test_scan_detects_pixel_data_shorter_than_the_header_promises(mr_small, tmp_path, implicit):
    paths = [_write(mr_small, tmp_path / f"s{k}.dcm", along=5.0 * k, implicit=implicit) for k in range(4)]
    _truncate(paths[2])
    result = scan(tmp_path)
    (series,) = result.series
    assert series.n_slices == 3 and str(paths[2]) not in {r.path for r in series.slices}
    (bad,) = result.skipped
    assert bad.path == str(paths[2]) and "truncated" in bad.reason and "8192 bytes" in bad.reason


def test_prepare_skips_a_bad_slice_records_it_and_goes_on(mr_small, tmp_path, capsys):
    from medganbench.cli import main

    src = tmp_path / "src"
    src.mkdir()
    paths = [_write(mr_small, src / f"s{k}.dcm", along=5.0 * k) for k in range(5)]
    _truncate(paths[1])
    out = tmp_path / "set.npz"
    assert main(["dicom", "prepare", str(src), "--out", str(out), "--size", "16", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "1 file(s) skipped" in err and "'skipped'" in err  # the summary says so
    card = json.loads(out.with_suffix(".json").read_text())
    assert sum(card["n_samples"].values()) == 4
    (skipped,) = card["skipped"]
    assert "truncated" in skipped["reason"] and str(src) not in json.dumps(card)
    # A file that goes bad after the scan (or a damaged compressed slice the scan cannot measure) is skipped
    # at decode time and recorded the same way.
    result = scan(src)
    _truncate(paths[3], by=3000)
    card = prepare(src, tmp_path / "late.npz", PrepareConfig(size=16), progress=False, scan_result=result)
    assert card["bad_slices"] == 1 and card["series"][0]["bad_slices"] == 1
    assert sum(card["n_samples"].values()) == 3
    assert any("could not be decoded" in s["reason"] and "<file>" in s["reason"] for s in card["skipped"])
    vol = load_series(result.series[0], on_error="skip")
    assert len(vol.pixels) == len(vol.positions) == 3 and len(vol.dropped) == 1
    with pytest.raises(MedGanBenchError, match="could not be decoded"):
        load_series(result.series[0])


def test_duplicate_sop_instances_are_counted_once_and_reported(mr_small, tmp_path):
    paths = [_write(mr_small, tmp_path / f"s{k}.dcm", along=5.0 * k, sop=f"1.2.3.4.{k}") for k in range(3)]
    # one SOP instance stored in two more files: an exact copy, and other pixels under the same UID
    (tmp_path / "copy.dcm").write_bytes(paths[0].read_bytes())
    _write(mr_small, tmp_path / "zz_other.dcm", along=99.0, sop="1.2.3.4.1", offset=7)
    result = scan(tmp_path)
    (series,) = result.series
    assert series.n_slices == 3 and series.duplicates == 2
    assert (series.spacings > 0).all()  # no 0 mm gap from a repeated instance
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert "identical copy" in reasons["s0.dcm"] or "identical copy" in reasons["copy.dcm"]
    assert "same SOP Instance UID" in reasons["zz_other.dcm"]
    assert series.summary()["duplicates"] == 2


# ---------------------------------------------------------------------------------------------- geometry

def test_a_three_plane_localiser_becomes_three_consistent_stacks(mr_small, tmp_path):
    for k in range(3):
        _write(mr_small, tmp_path / f"ax{k}.dcm", iop=AXIAL, along=10.0 * k)
    for k in range(2):
        _write(mr_small, tmp_path / f"sag{k}.dcm", iop=SAGITTAL, along=7.0 * k)
    _write(mr_small, tmp_path / "cor.dcm", iop=CORONAL, along=3.0)
    stacks = scan(tmp_path).series
    assert [s.n_slices for s in stacks] == [3, 2, 1]
    assert {s.stacks for s in stacks} == {3} and [s.stack for s in stacks] == [1, 2, 3]
    assert len({s.uid for s in stacks}) == 3 and len({s.uid.split(".")[0] for s in stacks}) == 1
    np.testing.assert_allclose(stacks[0].spacings, [10, 10])
    np.testing.assert_allclose(stacks[1].spacings, [7])
    for s in stacks:
        assert all(np.allclose(r.orientation, s.slices[0].orientation) for r in s.slices)
        assert np.allclose(s.normal, slice_normal(s.slices[0].orientation))


def test_a_radial_acquisition_is_not_stacked_as_a_volume(mr_small, tmp_path):
    for k, deg in enumerate((0, 30, 60, 90)):
        a = np.deg2rad(deg)
        # planes through one axis, rotated about it: all share the column direction (0, 0, -1)
        _write(mr_small, tmp_path / f"r{k}.dcm", iop=[np.cos(a), np.sin(a), 0, 0, 0, -1], along=0.0)
    stacks = scan(tmp_path).series
    assert len(stacks) == 4 and all(s.n_slices == 1 and s.stacks == 4 for s in stacks)


def test_rt_dose_frames_take_their_gaps_from_grid_frame_offsets(dicom_root, tmp_path):
    path = dicom_root / "odd" / "multiframe" / "rtdose.dcm"
    (dose,) = scan(path).series
    assert dose.n_slices == 15
    np.testing.assert_allclose(dose.spacings, 5.0)
    # Offsets that do not start at 0 are absolute z positions (axial dose grids).
    ds = pydicom.dcmread(path)
    z0 = float(ds.ImagePositionPatient[2])
    ds.GridFrameOffsetVector = [z0 + 2.5 * k for k in range(15)]
    ds.save_as(tmp_path / "abs.dcm")
    (absolute,) = scan(tmp_path / "abs.dcm").series
    np.testing.assert_allclose(absolute.positions, [z0 + 2.5 * k for k in range(15)])


# ---------------------------------------------------------------------------------------------- pseudonyms

def test_patient_pseudonyms_cannot_be_recomputed_from_the_output(mr_small, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    record_numbers = ["100234", "100235", "100236", "100237"]  # short numeric IDs: easy to enumerate
    for i, pid in enumerate(record_numbers):
        for k in range(2):
            _write(mr_small, src / f"p{i}s{k}.dcm", along=5.0 * k, series=f"1.2.3.{i}", patient=pid)
    secret = bytes(range(32))
    out = tmp_path / "set.npz"
    card = prepare(src, out, PrepareConfig(size=16, split=(0.5, 0.25, 0.25)), progress=False, secret=secret)
    pseudonyms = {s["patient"] for s in card["series"]}
    assert len(pseudonyms) == 4 and "unknown" not in pseudonyms
    blobs = [out.read_bytes(), out.with_suffix(".json").read_bytes()]
    # The secret is nowhere in the output, in any encoding.
    for enc in (secret, secret.hex().encode(), secret.hex().upper().encode()):
        assert not any(enc in b for b in blobs)
    # A dictionary attack that knows every candidate ID (the true ones included) and every string in the
    # output, trying them as salt or key, recovers nobody.
    tokens = set(re.findall(r"[\w.-]+", out.with_suffix(".json").read_text())) | {""}
    for pid in [*record_numbers, *(str(n) for n in range(100200, 100300))]:
        for tok in tokens:
            guesses = {hashlib.sha256(pid.encode()).hexdigest()[:16],
                       hashlib.sha256((tok + pid).encode()).hexdigest()[:16],
                       hashlib.sha256((pid + tok).encode()).hexdigest()[:16],
                       hmac.new(tok.encode(), pid.encode(), hashlib.sha256).hexdigest()[:16]}
            assert not guesses & pseudonyms, f"pseudonym of {pid} recomputed with {tok!r}"
    # Only the key holder can: the same secret gives the same pseudonyms, a fresh one others.
    again = prepare(src, tmp_path / "again.npz", PrepareConfig(size=16), progress=False, secret=secret)
    assert {s["patient"] for s in again["series"]} == pseudonyms
    fresh = prepare(src, tmp_path / "fresh.npz", PrepareConfig(size=16), progress=False)
    assert not {s["patient"] for s in fresh["series"]} & pseudonyms
    assert not {s["series"] for s in fresh["series"]} & {s["series"] for s in card["series"]}


def test_the_scan_secret_never_leaves_memory(mr_small, tmp_path):
    _write(mr_small, tmp_path / "a.dcm")
    result = scan(tmp_path, secret=b"k" * 32)
    assert "kkkk" not in repr(result) and "kkkk" not in json.dumps(result.to_dict())
    with pytest.raises(TypeError, match="secret"):
        pickle.dumps(result.pseudonym)
