"""Bad and hostile input files: samples, labels, npz headers, data set cards, concurrent downloads.

Every file here is tiny and made in ``tmp_path``; each case must end in one ``MedGanBenchError``
naming the file and the problem, before any work, and never suggest ``allow_pickle``.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from medganbench.data.npzfile import load_npz_dataset
from medganbench.errors import MedGanBenchError
from medganbench.labels import check_labels
from medganbench.samples import load_samples, save_samples


def _samples(path: Path, n: int = 8, labels=None) -> Path:
    arrays = {"images": np.zeros((n, 8, 8), np.uint8)}
    if labels is not None:
        arrays["labels"] = labels
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("labels, problem", [
    (np.full((8, 1), 0.9), "not a whole number"),
    (np.array([[0.0]] * 7 + [[np.nan]]), "NaN"),
    (np.array([["a"]] * 8), "dtype"),
    (np.zeros((8, 2), np.int64), "shape"),
    (np.zeros((7, 1), np.int64), "shape"),
    (np.full((8, 1), -1), "negative"),
    (np.full((8, 1), 2.0**60), "not class numbers"),
])
def test_bad_labels_are_refused_naming_the_file(tmp_path, labels, problem):
    path = _samples(tmp_path / "s.npz", labels=labels)
    with pytest.raises(MedGanBenchError, match=problem) as info:
        load_samples(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_good_labels_pass_in_any_integral_form():
    for labels in (np.arange(4) % 2, (np.arange(4) % 2).reshape(4, 1).astype(np.float32), np.array([True, False] * 2)):
        out = check_labels(labels, 4, "x")
        assert out.dtype == np.int64 and out.shape == (4, 1) and sorted(out.ravel().tolist()) == [0, 0, 1, 1]
    with pytest.raises(MedGanBenchError, match="outside the classes 0..1"):
        check_labels(np.array([0, 2]), 2, "x", num_classes=2)
    with pytest.raises(MedGanBenchError, match="shape"):
        save_samples(Path("/nonexistent/never-written.npz"), np.zeros((2, 4, 4), np.uint8), np.zeros((2, 2)))


def test_a_file_that_is_not_an_npz_never_suggests_allow_pickle(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("these are not images\n")
    npy = tmp_path / "bare.npz"
    np.save(npy.with_suffix(".npy"), np.zeros((2, 4, 4), np.uint8))
    npy.with_suffix(".npy").rename(npy)
    objects = tmp_path / "objects.npz"
    np.savez(objects, images=np.array([{"a": 1}, None], dtype=object))
    for path, problem in ((text, "not an .npz file"), (npy, "single .npy array"), (objects, "Python objects")):
        with pytest.raises(MedGanBenchError, match=problem) as info:
            load_samples(path)
        msg = str(info.value)
        assert str(path) in msg and "allow_pickle" not in msg and "pickle=" not in msg


def _npz_with_header(path: Path, shape: tuple, payload: bytes, name: str = "images") -> Path:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{name}.npy", buf.getvalue() + payload)
    return path


def test_a_header_claiming_a_trillion_images_is_refused_without_allocating(tmp_path):
    path = _npz_with_header(tmp_path / "huge.npz", (10**12, 28, 28), bytes(28 * 28 * 4))
    start = time.monotonic()
    with pytest.raises(MedGanBenchError, match="claims shape") as info:
        load_samples(path)
    assert str(path) in str(info.value) and time.monotonic() - start < 2
    # The same lie inside a data set file.
    bad = _npz_with_header(tmp_path / "set.npz", (10**12, 28, 28), bytes(16), name="train_images")
    with pytest.raises(MedGanBenchError, match="claims shape"):
        load_npz_dataset(bad, "train")


def test_zero_images_names_the_file_and_the_minimum(tmp_path):
    path = _samples(tmp_path / "empty.npz", n=0)
    with pytest.raises(MedGanBenchError, match=r"holds 0 image\(s\); at least 4 are needed") as info:
        load_samples(path, min_count=4)
    assert str(path) in str(info.value)


def test_eval_checks_labels_count_and_out_before_any_metric(tmp_path, medmnist_root, monkeypatch):
    from medganbench.bench import groups, protocol

    def no_metrics(*a, **kw):
        raise AssertionError("the metrics ran before the input was checked")

    monkeypatch.setattr(groups, "domain_group", no_metrics)
    out = tmp_path / "out"
    labelled = _samples(tmp_path / "l.npz", n=8, labels=np.full((8, 1), 5))  # pneumoniamnist has classes 0, 1
    with pytest.raises(MedGanBenchError, match=r"label 5 is outside the classes 0..1"):
        protocol.evaluate_samples(labelled, "pneumoniamnist", out=out, progress=False)
    empty = _samples(tmp_path / "e.npz", n=0)
    with pytest.raises(MedGanBenchError, match=f"{empty}.*at least {protocol.MIN_EVAL_SAMPLES}"):
        protocol.evaluate_samples(empty, "pneumoniamnist", out=out, progress=False)
    assert not out.exists()  # early failures leave no empty output folder


def _read_only_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        return ro
    if Path("/sys").is_dir() and not os.access("/sys", os.W_OK):
        return Path("/sys")
    try:  # root: sysfs refuses new files even to root
        import tempfile

        os.close(tempfile.mkstemp(dir="/sys")[0])
    except OSError:
        return Path("/sys")
    pytest.skip("no read-only folder available to this user")


def test_eval_fails_at_once_on_a_read_only_out(tmp_path, monkeypatch, capsys):
    from medganbench.bench import groups, protocol
    from medganbench.cli import main

    monkeypatch.setattr(groups, "domain_group", lambda *a, **kw: (_ for _ in ()).throw(AssertionError("metrics ran")))
    ro = _read_only_dir(tmp_path)
    samples = _samples(tmp_path / "s.npz")
    start = time.monotonic()
    code = main(["eval", "--samples", str(samples), "--out", str(ro)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and time.monotonic() - start < 10
    assert err.count("\n") == 0 and str(ro) in err and "not writable" in err
    file_parent = tmp_path / "afile"
    file_parent.write_text("x")
    with pytest.raises(MedGanBenchError, match="is a file"):
        protocol.evaluate_samples(samples, "pneumoniamnist", out=file_parent / "out", progress=False)


def test_os_errors_become_one_line_naming_the_path(capsys, monkeypatch):
    import errno

    from medganbench import cli

    def full_disk(args):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/run/checkpoints/ckpt.npz")

    parser = cli.build_parser()
    args = parser.parse_args(["leaderboard", "build"])
    args.func = full_disk
    monkeypatch.setattr(cli, "build_parser", lambda: type("P", (), {"parse_args": lambda self, argv: args})())
    assert cli.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "/data/run/checkpoints/ckpt.npz" in err and "disk is full" in err


# --- data set files ------------------------------------------------------------------------------

def _dataset(path: Path) -> Path:
    arrays = {}
    for split in ("train", "val", "test"):
        arrays[f"{split}_images"] = np.zeros((4, 8, 8), np.uint8)
        arrays[f"{split}_labels"] = (np.arange(4) % 2).reshape(4, 1)
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("card, problem", [
    ('{"name": "x", "classes": ["a", "b"', "not valid JSON"),
    ('["a", "b"]', "must be a JSON object"),
    ('{"num_classes": "two"}', "'num_classes' must be int"),
    ('{"classes": [1, 2]}', "list of names"),
    ('{"num_classes": 1}', "labels go up to 1"),
    ('{"channels": 3}', "channels=3"),
])
def test_a_malformed_data_set_card_is_one_line_naming_it(tmp_path, card, problem):
    path = _dataset(tmp_path / "mine.npz")
    (tmp_path / "mine.json").write_text(card)
    with pytest.raises(MedGanBenchError, match=problem) as info:
        load_npz_dataset(path, "train")
    assert str(tmp_path / "mine.json") in str(info.value)


def test_data_set_labels_are_checked_too(tmp_path):
    path = tmp_path / "floaty.npz"
    arrays = {f"{s}_{k}": v for s in ("train", "val", "test")
              for k, v in (("images", np.zeros((4, 8, 8), np.uint8)), ("labels", np.full((4, 1), 0.5)))}
    np.savez(path, **arrays)
    with pytest.raises(MedGanBenchError, match=r"train_labels.*not a whole number"):
        load_npz_dataset(path, "train")


# --- downloads -----------------------------------------------------------------------------------

def test_two_simultaneous_downloads_of_one_file_both_succeed(tmp_path):
    from medganbench.data.medmnist import download

    payload = np.random.default_rng(0).bytes(3 << 20)

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            for i in range(0, len(payload), 256 << 10):  # slow enough for the two downloads to overlap
                self.wfile.write(payload[i:i + (256 << 10)])
                self.wfile.flush()
                time.sleep(0.02)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/pneumoniamnist.npz"
    md5 = hashlib.md5(payload).hexdigest()
    errors = []

    def fetch():
        try:
            download("pneumoniamnist", 28, tmp_path, url=url, md5=md5, progress=False)
        except Exception as exc:  # collected: the test asserts there are none
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        server.shutdown()
        server.server_close()
    assert errors == []
    assert (tmp_path / "pneumoniamnist.npz").read_bytes() == payload
    assert [p.name for p in tmp_path.iterdir()] == ["pneumoniamnist.npz"]  # no .part left behind


def test_exporting_zero_samples_names_the_file(tmp_path):
    from medganbench.data.dicom_export import export_samples

    path = _samples(tmp_path / "none.npz", n=0)
    with pytest.raises(MedGanBenchError, match=r"none\.npz holds .*at least 1"):
        export_samples(path, tmp_path / "dcm")
    assert not (tmp_path / "dcm").exists()
