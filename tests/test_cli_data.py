"""The data commands of the CLI, run as a user runs them (a fresh process), on the real file."""

from __future__ import annotations

import json
import socket
import struct
import time
import zlib

import numpy as np


def _refusing_url_base() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connections are refused at once
    return f"http://127.0.0.1:{port}"


def test_data_list_json_names_every_2d_set_and_what_is_local(cli, medmnist_root):
    proc = cli("data", "list", "--json", check=True)
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert "pneumoniamnist" in rows and "phantoms" in rows and "chestmnist" in rows
    assert not any(name.endswith("3d") for name in rows)
    assert rows["pneumoniamnist"]["task"] == "binary"
    assert 28 in rows["pneumoniamnist"]["present_sizes"]


def test_data_info_counts_are_read_from_the_real_file(cli, medmnist_root):
    info = json.loads(cli("data", "info", "pneumoniamnist", "--json", check=True).stdout)
    text = json.dumps(info)
    for n in ("4708", "524", "624", "1214", "3494", "234", "390"):
        assert n in text, f"{n} missing from data info output"


def test_data_preview_writes_a_png_grid_and_prints_the_card(cli, medmnist_root, tmp_path):
    out = tmp_path / "grid.png"
    proc = cli("data", "preview", "pneumoniamnist", "--n", "16", "--out", str(out), check=True)
    assert "pneumonia" in proc.stdout.lower() and "CC BY 4.0" in proc.stdout
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 200 <= width <= 4000 and 200 <= height <= 4000
    assert zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]  # IHDR chunk is intact


def test_missing_data_offline_fails_fast_with_one_clear_line(cli, tmp_path):
    start = time.monotonic()
    proc = cli("data", "preview", "bloodmnist", "--out", str(tmp_path / "g.png"),
               env={"MEDGANBENCH_DATA": str(tmp_path), "MEDGANBENCH_MEDMNIST_URL_BASE": _refusing_url_base()},
               timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("medganbench: error:"), proc.stderr
    assert str(tmp_path / "bloodmnist.npz") in err[0] and "MEDGANBENCH_DATA" in err[0]
    assert "Traceback" not in proc.stderr
    assert elapsed < 30, f"offline failure took {elapsed:.1f}s"


def test_unknown_data_set_is_named_with_a_suggestion(cli):
    proc = cli("data", "info", "pneumonia")
    assert proc.returncode == 2
    assert "pneumonia" in proc.stderr and "pneumoniamnist" in proc.stderr


def test_pipeline_is_deterministic_and_scaled(medmnist_root):
    from medganbench.data import load_dataset
    from medganbench.data.pipeline import make_dataset, to_uint8

    ds = load_dataset("pneumoniamnist", "val")

    def first_batches(seed):
        it = iter(make_dataset(ds.images, ds.labels, batch_size=32, seed=seed))
        return [next(it) for _ in range(3)]

    a, b, c = first_batches(1), first_batches(1), first_batches(2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x["images"].numpy(), y["images"].numpy())
        np.testing.assert_array_equal(x["labels"].numpy(), y["labels"].numpy())
    assert not np.array_equal(a[0]["images"].numpy(), c[0]["images"].numpy())
    imgs = a[0]["images"].numpy()
    assert imgs.dtype == np.float32 and imgs.shape == (32, 28, 28, 1)
    assert imgs.min() >= -1.0 and imgs.max() <= 1.0
    # float -> uint8 inverts uint8 -> float exactly
    u = ds.images[:8]
    np.testing.assert_array_equal(to_uint8(u.astype(np.float32) / 127.5 - 1.0), u)
    unlabeled = next(iter(make_dataset(ds.images, batch_size=4, seed=0)))
    assert set(unlabeled) == {"images"}
