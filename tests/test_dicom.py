"""The DICOM loader, windows, training-set preparation and synthetic export, on the real files.

Every file listed in ``MANIFEST.csv`` is checked against its expected modality, shape and frame
count; decoders are simulated absent by emptying pydicom's plugin tables.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from medganbench.data import dicom as dcm
from medganbench.data.dicom import EXTRA_HINT, load_series, scan, slice_normal
from medganbench.data.dicom_export import export_samples, is_synthetic
from medganbench.data.dicom_prepare import PrepareConfig, assign_splits, prepare
from medganbench.data.windows import CT_PRESETS, apply_window, parse_window, percentile_window, resolve_window
from medganbench.errors import MedGanBenchError


@pytest.fixture(scope="module")
def manifest(dicom_root) -> list[dict]:
    with open(dicom_root / "MANIFEST.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def full_scan(dicom_root):
    return scan(dicom_root)


def _refs_by_path(result) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for s in result.series + result.undecodable:
        for r in s.slices:
            out.setdefault(str(Path(r.path).resolve()), (s, []))[1].append(r)
    return out


def _is_image(row) -> bool:
    return bool(row["rows"])


def _series_of(result, path: Path):
    return _refs_by_path(result)[str(path.resolve())]


def _one_file(series, refs):
    return dataclasses.replace(series, slices=list(refs))


# ---------------------------------------------------------------------------------------------- scan


def _duplicates(result) -> set[str]:
    return {str(Path(s.path).resolve()) for s in result.skipped if s.reason.startswith("duplicate SOP instance")}


def test_every_manifest_file_is_indexed_as_expected(dicom_root, manifest, full_scan):
    refs = _refs_by_path(full_scan)
    # ts_mr_small holds ONE SOP instance in six transfer syntaxes: it is one image, indexed once.
    dups = _duplicates(full_scan)
    assert {Path(p).name for p in dups} == {"MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm"} \
        or all("ts_mr_small" in p for p in dups) and len(dups) >= 3
    non_image_expected: dict[str, int] = {}
    for row in manifest:
        path = str((dicom_root / row["path"]).resolve())
        if row["sop_class"] == "Media Storage Directory Storage" or path in dups:
            continue
        if not _is_image(row):
            non_image_expected[row["sop_class"]] = non_image_expected.get(row["sop_class"], 0) + 1
            assert path not in refs, row["path"]
            continue
        assert path in refs, f"{row['path']} missing from the scan"
        series, frames = refs[path]
        assert series.modality == row["modality"], row["path"]
        assert (series.rows, series.columns) == (int(row["rows"]), int(row["columns"])), row["path"]
        assert len(frames) == int(row["frames"] or 1), row["path"]
        assert series.samples_per_pixel == int(row["samples_per_pixel"]), row["path"]
    assert full_scan.non_image == non_image_expected
    assert full_scan.filesets == 1
    # The text files beside the data (licences, manifest) are reported, not fatal.
    skipped = {Path(s.path).name for s in full_scan.skipped}
    assert {"MANIFEST.csv", "SOURCES.md"} <= skipped
    assert all("not a DICOM file" in s.reason or "not readable" in s.reason or "duplicate SOP" in s.reason
               for s in full_scan.skipped)


def test_files_needing_a_decoder_are_skipped_with_the_extra_named_when_it_is_absent(dicom_root, manifest, monkeypatch):
    from pydicom.pixels.decoders.base import get_decoder

    for uid in {row["transfer_syntax_uid"] for row in manifest if row["transfer_syntax_uid"]}:
        try:
            dec = get_decoder(uid)
        except NotImplementedError:
            continue
        # Keep only pydicom's own numpy decoders: this is a machine without the [dicom] extra.
        monkeypatch.setattr(dec, "_available", {k: v for k, v in dec._available.items() if k == "pydicom"})
    result = scan(dicom_root / "odd")
    skipped = {str(Path(s.path).resolve()): s.reason for s in result.skipped}
    refs = _refs_by_path(result)
    for row in manifest:
        if not row["path"].startswith("odd/") or not _is_image(row):
            continue
        path = str((dicom_root / row["path"]).resolve())
        if row["pixels_decode_with_pydicom_numpy_only"] == "no":
            assert path in skipped and EXTRA_HINT in skipped[path], row["path"]
        elif skipped.get(path, "").startswith("duplicate SOP instance"):
            assert "ts_mr_small" in path  # one SOP instance in six syntaxes: indexed once
        else:
            assert path in refs and path not in skipped, row["path"]
    assert len(result.undecodable) == 5  # CR, NM, US 8-bit, US cine, US J2K: no decodable file in their series
    for series in result.undecodable:
        assert not series.decodable and EXTRA_HINT in series.why_not
        assert series.summary()["decodable"] is False
        with pytest.raises(MedGanBenchError, match="could not be decoded"):
            load_series(series)


def test_decodable_files_decode_to_their_shape(dicom_root, manifest, full_scan):
    refs = _refs_by_path(full_scan)
    dups = _duplicates(full_scan)
    checked = 0
    for row in manifest:
        if not _is_image(row):
            continue
        if row["pixels_decode_with_pydicom_numpy_only"] == "no" and not dcm.decoder_available(row["transfer_syntax_uid"]):
            continue  # covered by the "extra absent" test above
        path = str((dicom_root / row["path"]).resolve())
        if path in dups:  # the same SOP instance in another syntax: decoded by the six-syntax test below
            continue
        series, frames = refs[path]
        vol = load_series(_one_file(series, frames))
        assert vol.pixels.shape == (int(row["frames"] or 1), int(row["rows"]), int(row["columns"])), row["path"]
        assert vol.pixels.dtype == np.float32 and np.isfinite(vol.pixels).all(), row["path"]
        checked += 1
    assert checked >= 487


def test_one_image_in_six_transfer_syntaxes_decodes_identically(dicom_root):
    folder = dicom_root / "odd" / "ts_mr_small"
    arrays = {}
    for path in sorted(folder.iterdir()):
        if not dcm.decoder_available(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID):
            continue
        (series,) = scan(path).series  # one file at a time: together they are one SOP instance, indexed once
        arrays[path.name] = load_series(series).pixels
    assert len(arrays) >= 4
    ref = arrays.pop("MR_small.dcm")
    for name, arr in arrays.items():
        np.testing.assert_array_equal(arr, ref, err_msg=name)


def test_ct_series_sorts_along_the_tilted_normal_with_uneven_spacing(dicom_root, full_scan):
    ct = [s for s in full_scan.series if s.modality == "CT" and s.n_slices == 28]
    assert len(ct) == 1
    ct = ct[0]
    assert abs(ct.normal[2]) < 0.99  # gantry tilt: the normal is not the z axis
    gaps = ct.spacings
    assert (gaps > 0).all()
    assert gaps.min() == pytest.approx(1.08, abs=0.05) and gaps.max() == pytest.approx(7.0, abs=0.05)
    assert ct.positions[-1] - ct.positions[0] == pytest.approx(144, abs=2)
    names = [Path(r.path).name for r in ct.slices]
    assert sorted(names) in (names, names[::-1])


def test_sort_uses_the_normal_not_z_or_instance_number(dicom_root, tmp_path):
    """Coronal slices: z is the same for all, InstanceNumber runs backwards; only y orders them."""
    src = pydicom.dcmread(dicom_root / "odd" / "ts_mr_small" / "MR_small.dcm")
    ys = [30.0, -10.0, 10.0, 0.0]
    for k, y in enumerate(ys):
        ds = src.copy()
        ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
        ds.ImagePositionPatient = [0.0, y, 5.0]
        ds.InstanceNumber = 10 - k
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.save_as(tmp_path / f"s{k}")
    result = scan(tmp_path)
    (series,) = result.series
    normal = slice_normal([1, 0, 0, 0, 0, -1])
    expected = sorted(y * normal[1] for y in ys)
    np.testing.assert_allclose(series.positions, expected)
    assert series.spacings.tolist() == pytest.approx([10, 10, 20])


def test_fmri_volume_is_one_series_of_35_slices(dicom_root):
    result = scan(dicom_root / "mr_datalad_bold_vol001")
    (series,) = result.series
    assert series.n_slices == 35 and (series.rows, series.columns) == (80, 80)
    assert np.allclose(series.spacings, 3.3, atol=0.01)
    instances = [r.instance for r in series.slices]
    assert sorted(instances)[:3] == [1, 157, 313]


def test_enhanced_mr_frames_take_positions_from_per_frame_groups(dicom_root):
    path = dicom_root / "odd" / "multiframe" / "siemens_xa10_enhanced" / "6_1.dcm"
    (series,) = scan(path).series
    assert series.n_slices == 6 and sorted(r.frame for r in series.slices) == list(range(6))
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    for ref in series.slices:
        grp = ds.PerFrameFunctionalGroupsSequence[ref.frame]
        ipp = [float(v) for v in grp.PlanePositionSequence[0].ImagePositionPatient]
        assert ref.position == pytest.approx(float(np.dot(ipp, series.normal)))
    assert series.pixel_spacing is not None
    # A multi-frame object without functional groups still splits into its frames (no positions).
    (emri,) = scan(dicom_root / "odd" / "multiframe" / "emri_small.dcm").series
    assert emri.n_slices == 10 and np.isnan(emri.positions).all()


def test_modality_lut_gives_hounsfield_units(dicom_root):
    path = dicom_root / "odd" / "bitdepth" / "CT_small.dcm"
    (series,) = scan(path).series
    hu = load_series(series).pixels[0]
    ds = pydicom.dcmread(path)
    np.testing.assert_array_equal(hu, ds.pixel_array.astype(np.float32) - 1024)
    assert hu.min() < -800 and hu.max() > 100  # air around the body, bone inside


def test_monochrome1_is_inverted(dicom_root):
    path = next((dicom_root / "odd" / "dicomdir" / "77654033" / "CR1").iterdir())
    (series,) = scan(path).series
    assert series.photometric == "MONOCHROME1"
    out = load_series(series).pixels[0]
    ds = pydicom.dcmread(path)
    phys = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    lo, hi = 0 * float(ds.RescaleSlope) + float(ds.RescaleIntercept), (2 ** ds.BitsStored - 1) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(out, lo + hi - phys, rtol=1e-6)


def test_colour_is_converted_to_grey_or_skipped(dicom_root):
    folder = dicom_root / "odd" / "color"
    kept = scan(folder, color="convert")
    rgb = next(s for s in kept.series if s.photometric == "RGB" and s.rows == 240)
    grey = load_series(rgb).pixels
    assert grey.shape == (1, 240, 320) and 0 <= grey.min() and grey.max() <= 255
    palette = next(s for s in kept.series if s.photometric == "PALETTE COLOR")
    assert load_series(palette).pixels.shape == (1, 600, 800)
    with pytest.raises(MedGanBenchError, match="No usable DICOM image"):
        scan(folder, color="skip")


def test_dicomdir_file_set_is_followed(dicom_root):
    result = scan(dicom_root / "odd" / "dicomdir" / "DICOMDIR")
    assert result.filesets == 1
    assert sum(s.n_slices for s in result.series) == 31


def test_corrupt_and_foreign_files_are_reported_and_the_scan_goes_on(dicom_root, tmp_path):
    good = dicom_root / "odd" / "ts_mr_small" / "MR_small.dcm"
    (tmp_path / "good.dcm").write_bytes(good.read_bytes())
    (tmp_path / "truncated.dcm").write_bytes(good.read_bytes()[:700])
    (tmp_path / "notes.txt").write_text("not a scan\n")
    (tmp_path / "random.bin").write_bytes(np.random.default_rng(0).bytes(4000))
    result = scan(tmp_path)
    assert [s.n_slices for s in result.series] == [1]
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert {"notes.txt", "random.bin"} <= set(reasons)
    assert all(str(tmp_path) in s.path for s in result.skipped)


def test_empty_or_imageless_folders_give_a_clear_error(dicom_root, tmp_path):
    with pytest.raises(MedGanBenchError, match="No files under"):
        scan(tmp_path)
    with pytest.raises(MedGanBenchError, match="No usable DICOM image"):
        scan(dicom_root / "odd" / "nonimage")
    with pytest.raises(MedGanBenchError, match="does not exist"):
        scan(tmp_path / "missing")


# ---------------------------------------------------------------------------------------------- windows


def test_windows_map_presets_and_custom_values():
    hu = np.array([-1000, 0, 40, 80, 1000], dtype=np.float32)
    np.testing.assert_array_equal(apply_window(hu, *CT_PRESETS["brain"]), [0, 0, 128, 255, 255])
    assert apply_window(hu, *CT_PRESETS["lung"])[0] > 0  # air is visible in the lung window only
    assert parse_window("40,80") == (40.0, 80.0)
    assert resolve_window("auto", hu, "CT", (35.0, 100.0))[0] == (35.0, 100.0)
    assert resolve_window("auto", hu, "CT", None)[1] == "brain"
    for bad in ("brian", "40", "40,-5"):
        with pytest.raises(MedGanBenchError):
            parse_window(bad)


def test_percentile_window_ignores_background():
    vol = np.zeros((4, 32, 32), np.float32)
    vol[:, 8:24, 8:24] = np.linspace(100, 300, 16 * 16).reshape(16, 16)
    c, w = percentile_window(vol)
    assert 99 <= c - w / 2 <= 103 and 297 <= c + w / 2 <= 301
    mask = np.zeros((8, 8), np.float32)
    mask[2:5, 2:5] = 1
    np.testing.assert_array_equal(apply_window(mask, *percentile_window(mask)), mask.astype(np.uint8) * 255)


# ---------------------------------------------------------------------------------------------- prepare


def _phi_strings(paths: list[Path]) -> set[str]:
    keys = ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "SeriesDate", "AcquisitionDate",
            "ContentDate", "InstitutionName", "ReferringPhysicianName", "AccessionNumber", "StudyInstanceUID",
            "SeriesInstanceUID", "SOPInstanceUID", "OtherPatientIDs", "InstitutionAddress")
    out: set[str] = set()
    for p in paths:
        ds = pydicom.dcmread(p, stop_before_pixels=True, force=True)
        for k in keys:
            v = str(ds.get(k, "") or "").strip()
            if len(v) >= 4 and v.upper() not in {"REMOVED", "ANONYMOUS"}:  # shorter IDs ("02") match by chance
                out.add(v)
    return out


@pytest.fixture(scope="module")
def mr_set(dicom_root, tmp_path_factory):
    odd = dicom_root / "odd"
    t1 = sorted((dicom_root / "mr_datalad_t1w_deflated").iterdir())[::8]
    sources = [*t1, dicom_root / "mr_datalad_bold_vol001", odd / "ts_mr_small" / "MR_small.dcm",
               odd / "bitdepth" / "examples_overlay.dcm", odd / "multiframe" / "emri_small.dcm",
               odd / "multiframe" / "siemens_xa10_enhanced", odd / "dicomdir" / "98892003"]
    out = tmp_path_factory.mktemp("prep") / "mr32.npz"
    card = prepare(sources, out, PrepareConfig(size=32, modality="MR", seed=3, min_foreground=0.02), progress=False)
    files = [p for s in sources for p in ([s] if s.is_file() else sorted(f for f in s.rglob("*") if f.is_file()))]
    return out, card, files


def test_prepared_set_has_medmnist_layout_and_card(mr_set):
    from medganbench.data import load_dataset

    out, card, _ = mr_set
    with np.load(out) as npz:
        assert sorted(npz.files) == sorted(f"{s}_{k}" for s in ("train", "val", "test") for k in ("images", "labels"))
        for sp in ("train", "val", "test"):
            assert npz[f"{sp}_images"].dtype == np.uint8 and npz[f"{sp}_images"].shape[1:] == (32, 32)
            assert npz[f"{sp}_labels"].shape == (len(npz[f"{sp}_images"]), 1)
            assert card["n_samples"][sp] == len(npz[f"{sp}_images"]) > 0
    ds = load_dataset(str(out), split="train")
    assert ds.images.shape[1:] == (32, 32, 1) and ds.card["source"] == "dicom"
    assert all(s["modality"] == "MR" for s in card["series"])


def test_prepared_set_has_no_patient_leakage(mr_set):
    _, card, _ = mr_set
    groups = card["split"]["groups"]
    seen = [g for sp in groups.values() for g in sp]
    assert len(seen) == len(set(seen)) >= 3
    per_split = {sp: 0 for sp in groups}
    for s in card["series"]:
        key = s["patient"] if s["patient"] != "unknown" else "series:" + s["series"]
        assert key in groups[s["split"]]
        per_split[s["split"]] += s["kept"]
    assert per_split == card["n_samples"]


def test_prepared_set_contains_no_personal_data(mr_set):
    out, card, files = mr_set
    phi = _phi_strings(files)
    assert "Jane_Doe" in phi and len(phi) > 20  # the check below has something to find
    blobs = [out.read_bytes(), out.with_suffix(".json").read_bytes()]
    with np.load(out) as npz:
        blobs += [name.encode() for name in npz.files]
    for value in phi:
        for blob in blobs:
            assert value.encode() not in blob, f"{value!r} leaked into the prepared set"
    assert str(files[0].parent) not in json.dumps(card)


def test_split_assignment_is_seeded_and_whole():
    groups = {f"p{i}": 10 + i for i in range(12)}
    a, b = assign_splits(groups, (0.8, 0.1, 0.1), 1), assign_splits(groups, (0.8, 0.1, 0.1), 1)
    assert a == b and set(a.values()) == {"train", "val", "test"}
    assert assign_splits({"only": 5}, (0.8, 0.1, 0.1), 0) == {"only": "train"}


def test_prepare_rejects_bad_options(dicom_root, tmp_path):
    src = dicom_root / "odd" / "ts_mr_small" / "MR_small.dcm"
    with pytest.raises(MedGanBenchError, match="window"):
        prepare([src], tmp_path / "x.npz", PrepareConfig(window="brian"), progress=False)
    with pytest.raises(MedGanBenchError, match="modality"):
        prepare([src], tmp_path / "x.npz", PrepareConfig(modality="CT"), progress=False)
    with pytest.raises(MedGanBenchError, match=".npz"):
        prepare([src], tmp_path / "x.png", PrepareConfig(), progress=False)


def test_ct_prepare_with_brain_window_and_body_crop(dicom_root, tmp_path):
    card = prepare([dicom_root / "ct_dcmqa_ge_head"], tmp_path / "ct.npz",
                   PrepareConfig(size=32, window="brain", crop="body"), progress=False)
    (info,) = card["series"]
    assert (info["center"], info["width"]) == CT_PRESETS["brain"]
    assert info["kept"] + info["dropped_background"] == 28 and info["kept"] > 20


# ---------------------------------------------------------------------------------------------- export


def test_export_round_trips_pixels_and_marks_every_file_synthetic(tmp_path):
    from medganbench.samples import save_samples

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (4, 32, 32), dtype=np.uint8)
    save_samples(tmp_path / "s.npz", grey)
    paths = export_samples(tmp_path / "s.npz", tmp_path / "dcm", run_id="run-42")
    colour = rng.integers(0, 256, (2, 16, 24, 3), dtype=np.uint8)
    paths += export_samples(colour, tmp_path / "dcm", run_id="run-43")
    assert len({p.name for p in paths}) == 6
    uids = set()
    for p, img in zip(paths, [*grey, *colour]):
        ds = pydicom.dcmread(p)
        np.testing.assert_array_equal(ds.pixel_array, img)
        assert is_synthetic(ds) and ds.ConversionType == "SYN" and "DERIVED" in ds.ImageType
        assert ds.ImageComments.startswith("SYNTHETIC") and ds.BurnedInAnnotation == "NO"
        block = ds.private_block(0x0011, "MEDGANBENCH")
        assert block[0x12].value in ("run-42", "run-43") and block[0x11].value
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
        uids.add(ds.SOPInstanceUID)
    assert len(uids) == 6
    with pytest.raises(MedGanBenchError, match="uint8"):
        export_samples(grey.astype(np.float32), tmp_path / "bad")


def test_dicom_window_uses_the_voi_lut_table_or_functional_group_window(dicom_root, tmp_path):
    from pydicom.dataset import Dataset

    from medganbench.data.windows import window_volume

    src = pydicom.dcmread(dicom_root / "odd" / "bitdepth" / "CT_small.dcm")
    item = Dataset()
    item.add_new(0x00283002, "SS", [256, -200, 8])  # LUTDescriptor: HU -200..55 -> 0..255 (signed data: SS)
    item.add_new(0x00283006, "US", list(range(256)))  # LUTData
    src.VOILUTSequence = [item]
    src.save_as(tmp_path / "voi.dcm")
    (series,) = scan(tmp_path / "voi.dcm").series
    assert series.voi_lut is not None and series.voi_lut.first == -200
    hu = load_series(series).pixels
    u8, info = window_volume(hu, "dicom", "CT", series.window, series.voi_lut)
    expected = np.clip(np.round(hu) + 200, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(u8, expected)
    assert info["window"] == "dicom VOI LUT"
    # Enhanced objects keep their window in the Frame VOI LUT functional group.
    (xa,) = scan(dicom_root / "odd" / "multiframe" / "siemens_xa10_enhanced").series
    assert xa.window is not None and xa.window[1] > 0


def test_modality_labels_and_crop_fit(dicom_root, tmp_path):
    odd = dicom_root / "odd"
    card = prepare([odd / "bitdepth" / "CT_small.dcm", odd / "bitdepth" / "examples_overlay.dcm"], tmp_path / "m.npz",
                   PrepareConfig(size=16, label="modality", fit="crop", split_by="series", split=(1, 0, 1)),
                   progress=False)
    assert card["classes"] == ["CT", "MR"] and card["num_classes"] == 2
    assert card["n_samples"]["val"] == 0 and card["n_samples"]["train"] == card["n_samples"]["test"] == 1
    with np.load(tmp_path / "m.npz") as npz:
        labels = {sp: npz[f"{sp}_labels"].ravel().tolist() for sp in ("train", "test")}
    by_split = {s["split"]: s["label"] for s in card["series"]}
    assert labels == {sp: [by_split[sp]] for sp in ("train", "test")}
    assert sorted(by_split.values()) == [0, 1]
