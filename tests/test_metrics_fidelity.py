"""Fidelity metrics through the torch-fidelity worker: equal to torch-fidelity's own numbers, honest
with few samples, Inception weights resolved or refused quickly. No TensorFlow in this file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from medganbench.errors import ConfigError, WeightsUnavailable

REPO = Path(__file__).resolve().parents[1]


def _pooled_pixels(images: np.ndarray, k: int = 4) -> np.ndarray:
    """A cheap, real-data feature space: k×k average-pooled pixels (28 px -> 7×7 = 49 values)."""
    x = images[..., 0].astype(np.float64) / 255.0
    n, h, w = x.shape
    return x[:, : h // k * k, : w // k * k].reshape(n, h // k, k, w // k, k).mean(axis=(2, 4)).reshape(n, -1)


@pytest.fixture(scope="module")
def real_features(medmnist_root):
    from medganbench.data import load_dataset

    train = load_dataset("pneumoniamnist", "train")
    test = load_dataset("pneumoniamnist", "test")
    return _pooled_pixels(train.images), _pooled_pixels(test.images)


@pytest.fixture(scope="module")
def session():
    from medganbench.metrics.client import worker_session

    with worker_session() as client:
        yield client


def _torch_fidelity_reference(real, fake, kid_subset_size, seed):
    """torch-fidelity's own functions on the same features, in a separate torch-only process."""
    code = r"""
import sys, json, numpy as np, torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric
real, fake, m, seed = np.load(sys.argv[1]), np.load(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r, f = torch.from_numpy(real), torch.from_numpy(fake)
fid = fid_statistics_to_metric(fid_features_to_statistics(f), fid_features_to_statistics(r), verbose=False)
kid = kid_features_to_metric(f, r, kid_subset_size=m, rng_seed=seed, verbose=False)
prc = prc_features_to_metric(f, r, verbose=False)
print(json.dumps({"fid": fid["frechet_inception_distance"], "kid_mean": kid["kernel_inception_distance_mean"],
                  "kid_std": kid["kernel_inception_distance_std"], **prc}))
"""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/r.npy", real)
        np.save(f"{tmp}/f.npy", fake)
        out = subprocess.run([sys.executable, "-c", code, f"{tmp}/r.npy", f"{tmp}/f.npy", str(kid_subset_size),
                              str(seed)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_kit_numbers_equal_torch_fidelity_own(real_features, session):
    from medganbench.metrics.fidelity import FIDELITY_KEYS, fidelity_from_features

    train, test = real_features
    real, fake = train[:1500], test  # two real sets that differ (train vs test patients)
    kit = fidelity_from_features(real, fake, bootstrap=0, seed=3)
    assert tuple(kit) == FIDELITY_KEYS
    ref = _torch_fidelity_reference(real, fake, kit["kid_subset_size"], 3)
    for key in ("fid", "kid_mean", "kid_std", "precision", "recall", "f_score"):
        assert kit[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key
    # and FID agrees with an independent implementation (scipy's matrix square root)
    from scipy import linalg

    mu1, mu2 = fake.mean(0), real.mean(0)
    s1, s2 = np.cov(fake, rowvar=False), np.cov(real, rowvar=False)
    independent = float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real))
    assert kit["fid"] == pytest.approx(independent, rel=1e-6)
    assert kit["kid_subset_size"] == min(1000, len(fake))


def test_bootstrap_interval_and_floor(real_features, session):
    from medganbench.metrics.fidelity import fidelity_from_features

    train, test = real_features
    noisy = np.clip(test + np.random.default_rng(0).normal(0, 0.08, test.shape), 0, 1)
    res = fidelity_from_features(train[:2000], noisy, heldout_features=test, bootstrap=30, seed=0)
    assert res["fid_ci_low"] <= res["fid"] <= res["fid_ci_high"]
    assert res["fid_floor_n"] == len(test) and res["fid_floor_reason"] is None
    # held-out real images are closer to the reference than noisy ones at the same n
    assert res["fid_floor"] < res["fid_at_floor_n"]


def test_few_samples_withhold_fid_but_report_kid_and_prc(real_features, session):
    from medganbench.metrics.fidelity import fidelity_from_features

    train, test = real_features
    res = fidelity_from_features(train[:500], test[:60], bootstrap=10)  # 60 < 2 x 49 dims
    assert res["fid"] is None and res["fid_ci_low"] is None
    assert "FID not reported" in res["fid_reason"] and "60" in res["fid_reason"]
    assert res["kid_subset_size"] == 60 and res["kid_mean"] is not None
    assert 0.0 <= res["precision"] <= 1.0 and 0.0 <= res["recall"] <= 1.0
    with pytest.raises(ConfigError, match="feature dims"):
        fidelity_from_features(train[:100], test[:100, :10])


def test_worker_session_reuses_one_process(session):
    from medganbench.metrics.client import call_worker

    assert call_worker("ping")["pid"] == call_worker("ping")["pid"] == session._proc.pid


def test_offline_inception_fails_fast_with_clear_message(tmp_path, monkeypatch):
    from medganbench.metrics.inception import INCEPTION_WEIGHTS_FILE, get_inception_extractor

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("MEDGANBENCH_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("MEDGANBENCH_INCEPTION_URL", "http://127.0.0.1:9/" + INCEPTION_WEIGHTS_FILE)  # refuses
    t0 = time.perf_counter()
    with pytest.raises(WeightsUnavailable) as err:
        get_inception_extractor()
    assert time.perf_counter() - t0 < 15
    msg = str(err.value)
    assert INCEPTION_WEIGHTS_FILE in msg and str(tmp_path / "torch" / "hub" / "checkpoints") in msg
    assert "--inception-weights" in msg
    with pytest.raises(WeightsUnavailable, match="does not exist"):
        get_inception_extractor(tmp_path / "nope.pth")
    monkeypatch.setenv("MEDGANBENCH_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable, match="downloading is off"):
        get_inception_extractor()


def test_inception_pipeline_grey_to_rgb_with_stand_in_weights(tmp_path, medmnist_root, session):
    """The worker's Inception path end to end (resize, grey->RGB, pool + logits, IS) with RANDOM weights
    in torch-fidelity's format: checks the plumbing, not Inception's numbers (no real weights offline)."""
    weights = tmp_path / "random-inception.pth"
    make = (
        "import sys, torch\n"
        "import torch_fidelity.feature_extractor_inceptionv3 as m\n"
        "orig = m.FeatureExtractorInceptionV3.load_state_dict\n"
        "m.FeatureExtractorInceptionV3.load_state_dict = lambda self, sd, **k: None\n"
        "torch.manual_seed(0)\n"
        "torch.save({}, sys.argv[1])\n"
        "net = m.FeatureExtractorInceptionV3('x', ['2048'], feature_extractor_weights_path=sys.argv[1])\n"
        "torch.save(net.state_dict(), sys.argv[1])\n"
    )
    subprocess.run([sys.executable, "-c", make, str(weights)], check=True, capture_output=True)
    from medganbench.data import load_dataset
    from medganbench.metrics.fidelity import fidelity_from_features
    from medganbench.metrics.inception import InceptionExtractor

    images = load_dataset("pneumoniamnist", "test").images[:4]
    ex = InceptionExtractor(weights, batch_size=4)
    pool, logits = ex.features_and_logits(images, progress=False)
    assert pool.shape == (4, 2048) and logits.shape == (4, 1008) and np.isfinite(pool).all()
    rgb_pool = ex.features(np.repeat(images, 3, axis=-1), progress=False)
    np.testing.assert_allclose(pool, rgb_pool, rtol=1e-6)  # grey is replicated to RGB, nothing else
    assert ex.spec["weights_sha256"] and ex.id.startswith("inception-v3-")
    res = fidelity_from_features(pool, pool[::-1], fake_logits=logits, bootstrap=0)
    assert res["isc_mean"] is not None and res["isc_mean"] >= 1.0 - 1e-9


def test_metrics_import_is_cheap():
    code = (
        "import sys, medganbench.metrics, medganbench.metrics.fidelity, medganbench.metrics.client, "
        "medganbench.metrics.inception, medganbench.metrics.memorization, medganbench.metrics.augmentation, "
        "medganbench.metrics.domain;"
        "print(','.join(m for m in ('tensorflow','torch','torch_fidelity','keras') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == ""
