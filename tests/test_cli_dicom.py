"""``medganbench dicom scan|prepare|preview|export`` as a user runs them (fresh processes)."""

from __future__ import annotations

import json

import numpy as np
import pydicom


def test_scan_json_lists_series_skips_and_non_image_objects(cli, dicom_root):
    proc = cli("dicom", "scan", str(dicom_root / "odd" / "nonimage"), str(dicom_root / "odd" / "ts_mr_small"), "--json",
               check=True)
    doc = json.loads(proc.stdout)
    assert doc["files"] == 11
    assert sum(doc["non_image"].values()) == 5 and "RT Plan Storage" in doc["non_image"]
    (series,) = doc["series"]
    assert series["modality"] == "MR" and (series["rows"], series["columns"]) == (64, 64)
    assert len(series["series"]) == 16 and "." not in series["series"]  # hashed, not the real UID


def test_scan_table_and_errors(cli, dicom_root, tmp_path):
    proc = cli("dicom", "scan", str(dicom_root / "ct_dcmqa_ge_head"), check=True)
    assert "CT" in proc.stdout and "512x512" in proc.stdout and "28" in proc.stdout
    proc = cli("dicom", "scan", str(tmp_path))
    assert proc.returncode == 2 and "No files under" in proc.stderr and "Traceback" not in proc.stderr


def test_prepare_preview_export_chain(cli, dicom_root, tmp_path):
    out = tmp_path / "ct.npz"
    cli("dicom", "prepare", str(dicom_root / "ct_dcmqa_ge_head"), "--window", "bone", "--size", "32",
        "--out", str(out), "--quiet", check=True)
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["series"][0]["window"] == "bone" and card["size"] == 32
    with np.load(out) as npz:
        train = npz["train_images"]
    assert train.shape[1:] == (32, 32) and train.dtype == np.uint8

    png = tmp_path / "montage.png"
    cli("dicom", "preview", str(dicom_root / "mr_datalad_bold_vol001"), "--out", str(png), check=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    samples = tmp_path / "samples.npz"
    np.savez(samples, images=train[:3])
    cli("dicom", "export", "--samples", str(samples), "--out", str(tmp_path / "syn"), "--run-id", "cli-run", check=True)
    files = sorted((tmp_path / "syn").glob("*.dcm"))
    assert len(files) == 3
    for f, img in zip(files, train[:3]):
        ds = pydicom.dcmread(f)
        np.testing.assert_array_equal(ds.pixel_array, img)
        assert "cli-run" in ds.ImageComments


def test_prepare_bad_window_is_one_line_error(cli, dicom_root, tmp_path):
    proc = cli("dicom", "prepare", str(dicom_root / "odd" / "ts_mr_small"), "--window", "brian",
               "--out", str(tmp_path / "x.npz"))
    assert proc.returncode == 2 and "Unknown window 'brian'" in proc.stderr
