"""`medganbench train` and `medganbench sample` on the real PneumoniaMNIST, as a user runs them."""

import numpy as np

from medganbench.samples import load_samples


def test_cli_train_then_sample(cli, tmp_path, medmnist_root):
    run = tmp_path / "runs" / "cd"
    proc = cli("train", "--model", "cdcgan", "--dataset", "pneumoniamnist", "--size", "28", "--steps", "4",
               "--batch-size", "16", "--seed", "1", "--out", str(run), "--no-progress",
               "--set", "base_filters=8", "--set", "latent_dim=8", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (run / "generator.keras").is_file() and (run / "log.csv").is_file()
    # resuming a finished run with more steps continues from its checkpoint
    proc = cli("train", "--model", "cdcgan", "--steps", "6", "--batch-size", "16", "--seed", "1",
               "--out", str(run), "--resume", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '"step": 6' in (run / "run.json").read_text()

    out = tmp_path / "samples.npz"
    proc = cli("sample", "--run", str(run), "--n", "50", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    images, labels = load_samples(out)
    assert images.shape == (50, 28, 28, 1) and images.dtype == np.uint8
    assert labels.shape == (50, 1) and set(np.unique(labels)) <= {0, 1}

    proc = cli("sample", "--run", str(run), "--n", "6", "--labels", "1", "--raw", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (load_samples(out)[1] == 1).all()


def test_cli_errors_are_one_clear_line(cli, tmp_path, medmnist_root):
    proc = cli("train", "--model", "dcgan", "--steps", "2", "--set", "latent_dimm=3", cwd=tmp_path)
    assert proc.returncode == 2 and "latent_dimm" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("train", "--out", str(tmp_path / "nothing"), "--resume", cwd=tmp_path)
    assert proc.returncode == 2 and "Nothing to resume" in proc.stderr
    proc = cli("sample", "--run", str(tmp_path / "nothing"), "--n", "3", "--out", "x.npz", cwd=tmp_path)
    assert proc.returncode == 2 and "run.json" in proc.stderr
    proc = cli("sample", "--run", str(tmp_path), "--n", "3", "--labels", "a,b", "--out", "x.npz", cwd=tmp_path)
    assert proc.returncode == 2
