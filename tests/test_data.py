"""The data layer on the real PneumoniaMNIST file, on npz files the tests make, and offline."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from medganbench.data import catalog, load_dataset
from medganbench.data.medmnist import URL_BASE_ENV, download, expected_path, load_medmnist, resolve_root
from medganbench.data.npzfile import load_npz_dataset
from medganbench.data.phantoms import load_phantoms, make_phantoms
from medganbench.data.subsets import subset, subset_indices
from medganbench.errors import ConfigError, DatasetUnavailable, MedGanBenchError

PNEUMONIA = {"train": (4708, (1214, 3494)), "val": (524, (135, 389)), "test": (624, (234, 390))}


# --- the real PneumoniaMNIST file ---------------------------------------------------------------

@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_pneumoniamnist_splits_and_class_counts(medmnist_root, split):
    ds = load_medmnist("pneumoniamnist", split)
    n, counts = PNEUMONIA[split]
    assert ds.images.shape == (n, 28, 28, 1)
    assert ds.images.dtype == np.uint8
    assert ds.labels.shape == (n, 1) and ds.labels.dtype == np.int64
    assert tuple(np.bincount(ds.labels[:, 0], minlength=2)) == counts
    assert ds.images.min() == 0 and ds.images.max() >= 250  # full 8-bit range, not rescaled
    assert 60 < ds.images.mean() < 200
    assert ds.split == split and len(ds) == n and ds.num_classes == 2


def test_reading_a_medmnist_file_imports_neither_torch_nor_tensorflow(medmnist_root):
    # medmnist's own loader imports torch; the kit must read the npz without it (TensorFlow processes).
    code = ("import sys; from medganbench.data import load_dataset; "
            "ds = load_dataset('pneumoniamnist', 'train'); "
            "bad = [m for m in ('torch', 'torchvision', 'medmnist', 'tensorflow', 'keras') if m in sys.modules]; "
            "print(len(ds), ','.join(bad))")
    env = {**os.environ, "MEDGANBENCH_DATA": str(medmnist_root)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["4708"], out.stdout + out.stderr[-2000:]


def test_pneumoniamnist_card(medmnist_root):
    card = load_dataset("pneumoniamnist", "val").card
    assert card["task"] == "binary" and card["classes"] == ["normal", "pneumonia"]
    assert card["channels"] == 1 and card["license"] == "CC BY 4.0" and card["synthetic"] is False
    assert "MedMNIST v2" in card["citation"] and "Kermany" in card["source_citation"]
    assert card["path"] == str(medmnist_root / "pneumoniamnist.npz")
    assert card["n_samples"] == {"train": 4708, "val": 524, "test": 624}


def test_npz_path_loads_the_same_arrays(medmnist_root):
    by_name = load_dataset("pneumoniamnist", "test")
    by_path = load_dataset(str(medmnist_root / "pneumoniamnist.npz"), "test")
    np.testing.assert_array_equal(by_name.images, by_path.images)
    np.testing.assert_array_equal(by_name.labels, by_path.labels)
    assert by_path.card["size"] == 28 and by_path.card["num_classes"] == 2


def test_root_resolution_order(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDGANBENCH_DATA", str(tmp_path / "env"))
    assert resolve_root(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_root() == tmp_path / "env"
    monkeypatch.delenv("MEDGANBENCH_DATA")
    assert resolve_root() == Path(catalog.default_root())
    assert expected_path("pneumoniamnist", 64, tmp_path) == tmp_path / "pneumoniamnist_64.npz"


def test_catalogue_covers_every_2d_flag_at_every_size():
    flags = catalog.medmnist_2d_flags()
    assert "pneumoniamnist" in flags and "chestmnist" in flags and not any(f.endswith("3d") for f in flags)
    for flag in flags:
        c = catalog.card(flag)
        assert c["task"] in {"binary", "multi-class", "multi-label", "ordinal"}
        assert len(c["classes"]) == c["num_classes"] > 1 and c["source_citation"]
        for size in catalog.SIZES:
            url, md5 = catalog.url_and_md5(flag, size)
            assert catalog.file_name(flag, size) in url and len(md5) == 32


def test_bad_names_sizes_and_splits_are_explained(tmp_path):
    with pytest.raises(MedGanBenchError, match="Did you mean 'pneumoniamnist'"):
        load_medmnist("pneumonia", root=tmp_path)
    with pytest.raises(MedGanBenchError, match="not a 2D MedMNIST"):
        load_medmnist("organmnist3d", root=tmp_path)
    with pytest.raises(MedGanBenchError, match="not a MedMNIST size"):
        load_medmnist("pneumoniamnist", size=32, root=tmp_path)
    with pytest.raises(MedGanBenchError, match="Unknown split"):
        load_medmnist("pneumoniamnist", split="training", root=tmp_path)


# --- files that are missing, broken or not the official release -------------------------------

def _refusing_url() -> str:
    """An http URL on a local port nobody listens on: connections are refused at once, no network needed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_offline_download_fails_fast_and_says_what_to_do(tmp_path):
    url = _refusing_url() + "/pneumoniamnist.npz"
    start = time.monotonic()
    with pytest.raises(DatasetUnavailable) as info:
        download("pneumoniamnist", 28, tmp_path, url=url, progress=False)
    assert time.monotonic() - start < 5
    msg = str(info.value)
    assert str(tmp_path / "pneumoniamnist.npz") in msg and url in msg and "MEDGANBENCH_DATA" in msg
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_url_base_env_var_is_used_by_load(monkeypatch, tmp_path):
    base = _refusing_url()
    monkeypatch.setenv(URL_BASE_ENV, base)
    with pytest.raises(DatasetUnavailable, match=f"{base}/breastmnist_64.npz"):
        load_medmnist("breastmnist", "train", size=64, root=tmp_path)
    with pytest.raises(DatasetUnavailable, match="download=False"):
        load_medmnist("breastmnist", "train", root=tmp_path, download=False)


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server serving ``tmp_path/served`` (a stand-in for Zenodo)."""
    served = tmp_path / "served"
    served.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(served), **kw)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_checks_md5_and_places_the_file(http_server, tmp_path):
    served, base = http_server
    payload = b"not really an npz, but bytes with a known MD5" * 1000
    (served / "pneumoniamnist.npz").write_bytes(payload)
    root = tmp_path / "root"
    with pytest.raises(DatasetUnavailable, match="MD5") as info:
        download("pneumoniamnist", 28, root, url=f"{base}/pneumoniamnist.npz", progress=False)
    assert "could not be downloaded" not in str(info.value)
    assert not (root / "pneumoniamnist.npz").exists() and not any(root.iterdir())
    good = hashlib.md5(payload).hexdigest()
    path = download("pneumoniamnist", 28, root, url=f"{base}/pneumoniamnist.npz", md5=good, progress=False)
    assert path == root / "pneumoniamnist.npz" and path.read_bytes() == payload


def _write_npz(path: Path, n=(6, 2, 2), size=8, **overrides):
    arrays = {}
    rng = np.random.default_rng(0)
    for split, k in zip(("train", "val", "test"), n):
        arrays[f"{split}_images"] = rng.integers(0, 256, (k, size, size), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(k) % 2).reshape(k, 1)
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return path


def test_broken_and_unofficial_files_are_named(tmp_path):
    bad = tmp_path / "pneumoniamnist.npz"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(MedGanBenchError, match=str(bad)):
        load_medmnist("pneumoniamnist", root=tmp_path)
    _write_npz(bad)  # readable, but not the official 4708/524/624 release
    with pytest.raises(MedGanBenchError, match="not the official release"):
        load_medmnist("pneumoniamnist", root=tmp_path)
    odd = _write_npz(tmp_path / "odd.npz", val_labels=None)
    with pytest.raises(MedGanBenchError, match="val_labels"):
        load_npz_dataset(odd, "val")
    floaty = _write_npz(tmp_path / "floaty.npz", train_images=np.zeros((6, 8, 8), np.float32))
    with pytest.raises(MedGanBenchError, match="uint8"):
        load_npz_dataset(floaty, "train")
    with pytest.raises(DatasetUnavailable, match="nowhere.npz"):
        load_dataset(str(tmp_path / "nowhere.npz"))


def test_npz_dataset_uses_sidecar_card(tmp_path):
    path = _write_npz(tmp_path / "mine.npz")
    ds = load_npz_dataset(path, "train")
    assert ds.images.shape == (6, 8, 8, 1) and ds.card["name"] == "mine" and ds.card["num_classes"] == 2
    (tmp_path / "mine.json").write_text('{"name": "mine", "classes": ["a", "b"], "task": "binary"}')
    assert load_npz_dataset(path, "test").card["classes"] == ["a", "b"]


# --- low-data subsets ---------------------------------------------------------------------------

def test_subset_fraction_is_stratified_seeded_and_nested(medmnist_root):
    ds = load_dataset("pneumoniamnist", "train")
    one = subset(ds, fraction=0.01, seed=3)
    assert tuple(np.bincount(one.labels[:, 0])) == (12, 35)  # round(1 % of 1214 / 3494)
    assert one.images.dtype == np.uint8 and one.card["subset"]["n"] == 47
    again = subset(ds, fraction=0.01, seed=3)
    np.testing.assert_array_equal(one.images, again.images)
    other = subset(ds, fraction=0.01, seed=4)
    assert not np.array_equal(one.images, other.images)
    idx = {f: set(subset_indices(ds.labels, fraction=f, seed=3)) for f in (0.01, 0.05, 0.10, 1.0)}
    assert idx[0.01] < idx[0.05] < idx[0.10] < idx[1.0] and len(idx[1.0]) == len(ds)
    # the chosen images really are the images at those indices (labels travel with images)
    i = sorted(idx[0.01])
    np.testing.assert_array_equal(one.images, ds.images[i])
    np.testing.assert_array_equal(one.labels, ds.labels[i])


def test_subset_per_class_and_rare_classes():
    labels = np.array([0] * 500 + [1] * 3 + [2] * 97).reshape(-1, 1)
    idx = subset_indices(labels, per_class=10, seed=0)
    assert tuple(np.bincount(labels[idx, 0])) == (10, 3, 10)  # a class with fewer keeps all it has
    idx = subset_indices(labels, fraction=0.01, seed=0)
    assert tuple(np.bincount(labels[idx, 0])) == (5, 1, 1)  # every class stays present


def test_subset_multilabel_stratifies_on_first_column_and_says_so():
    from medganbench.data.medmnist import Dataset

    labels = np.zeros((100, 3), dtype=np.int64)
    labels[:20, 0] = 1
    labels[::2, 2] = 1
    ds = Dataset(np.zeros((100, 4, 4, 1), np.uint8), labels, {"name": "toy"})
    sub = subset(ds, fraction=0.1, seed=0)
    assert sub.labels[:, 0].sum() == 2 and len(sub) == 10
    assert "first label column" in sub.card["subset"]["stratified_on"]


def test_subset_rejects_bad_arguments():
    labels = np.zeros((10, 1), dtype=np.int64)
    for kwargs in ({}, {"fraction": 0.1, "per_class": 2}, {"fraction": 0.0}, {"fraction": 1.5},
                   {"per_class": 0}):
        with pytest.raises(ConfigError):
            subset_indices(labels, **kwargs)


# --- phantoms -----------------------------------------------------------------------------------

def test_phantoms_default_splits_are_balanced_and_deterministic():
    train = load_phantoms("train")
    assert train.images.shape == (2000, 28, 28, 1) and train.images.dtype == np.uint8
    assert train.labels.shape == (2000, 1) and tuple(np.bincount(train.labels[:, 0])) == (1000, 1000)
    assert train.card["synthetic"] is True and "SYNTHETIC" in train.card["description"]
    again = load_phantoms("train")
    np.testing.assert_array_equal(train.images, again.images)
    np.testing.assert_array_equal(train.labels, again.labels)
    assert not np.array_equal(load_phantoms("train", seed=1).images, train.images)
    val = load_dataset("phantoms", "val")  # through the registry
    assert len(val) == 200 and len(load_dataset("phantoms", "test")) == 400
    assert not np.array_equal(val.images, train.images[:200])


def test_phantoms_any_size_rgb_and_n():
    ds = load_phantoms("test", size=64, n=10, channels=3)
    assert ds.images.shape == (10, 64, 64, 3)
    np.testing.assert_array_equal(ds.images[..., 0], ds.images[..., 2])
    with pytest.raises(ConfigError):
        load_phantoms("train", size=4)
    with pytest.raises(ConfigError):
        load_phantoms("valid")


def test_phantom_lesions_are_the_ground_truth():
    images, labels, masks = make_phantoms(64, size=64, seed=0)
    assert not masks[labels == 0].any()
    assert all(masks[i].sum() >= 4 for i in np.flatnonzero(labels == 1))
    # a lesion is the brightest structure around it: brighter than the rest of its image on average
    for i in np.flatnonzero(labels == 1):
        assert images[i][masks[i]].mean() > images[i][~masks[i]].mean() + 60
