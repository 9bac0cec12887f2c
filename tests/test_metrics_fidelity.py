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

    train = _pooled_pixels(load_dataset("pneumoniamnist", "train").images)
    test = _pooled_pixels(load_dataset("pneumoniamnist", "test").images)
    # standardised like learned features (KID's cubic kernel barely sees differences of [0, 1] pixels)
    mu, sd = train.mean(0), train.std(0)
    return (train - mu) / sd, (test - mu) / sd


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
    real, fake = train[:624], test  # two real sets that differ (train vs test patients), equal n
    kit = fidelity_from_features(real, fake, bootstrap=0, seed=3, fid_min_samples_per_dim=2)
    assert tuple(kit) == FIDELITY_KEYS
    ref = _torch_fidelity_reference(real, fake, kit["kid_subset_size"], 3)
    # equal sizes: every precision/recall draw uses all images, so it is torch-fidelity's own number
    assert kit["prdc_n"] == 624
    for key in ("fid", "kid_mean", "kid_std", "precision", "recall", "f_score"):
        assert kit[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key
    # and FID agrees with an independent implementation (scipy's matrix square root)
    from scipy import linalg

    mu1, mu2 = fake.mean(0), real.mean(0)
    s1, s2 = np.cov(fake, rowvar=False), np.cov(real, rowvar=False)
    independent = float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real))
    assert kit["fid"] == pytest.approx(independent, rel=1e-6)
    assert kit["kid_subset_size"] == min(1000, len(fake))


def test_fast_worker_equals_the_protocol_2_reference():
    """The worker's speed-ups (kernels and statistics computed once, the cube by products, one BLAS thread)
    change no number: on fixed inputs, through every kernel path, each value and interval equals the first
    protocol 2.0 worker's (kept verbatim in tests/_fidelity_oracle.py) to 1e-9 relative, with the same seeds
    and draws (measured: at most 2e-14). Runs in a torch-only subprocess, like the worker."""
    out = subprocess.run([sys.executable, str(REPO / "tests" / "_fidelity_oracle.py")], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(report) == {"whole kernels", "generated per subset", "reference per subset", "kernel"}
    for path, diffs in report.items():
        assert "fid_ci_low" in diffs or path == "kernel"
        for key, rel in diffs.items():
            assert rel != "mismatch" and rel <= 1e-9, f"{path}: {key} differs by {rel}"


def _naeem_density_coverage(real, fake, k):
    """Density and coverage exactly as written in Naeem et al. 2020 (and the ``prdc`` package), in numpy."""
    d_rr = np.linalg.norm(real[:, None] - real[None], axis=-1)
    radii = np.sort(d_rr, axis=1)[:, k]  # column 0 is the point itself
    d_rf = np.linalg.norm(real[:, None] - fake[None], axis=-1)
    inside = d_rf < radii[:, None]
    return inside.sum() / (k * len(fake)), inside.any(axis=1).mean()


def test_density_coverage_match_the_paper_and_hand_cases(session):
    from medganbench.metrics.fidelity import fidelity_from_features

    rng = np.random.default_rng(0)
    real = rng.normal(size=(60, 5))
    # hand cases: a perfect copy of the reference covers every ball, and each point sits in k balls
    same = fidelity_from_features(real, real.copy(), bootstrap=0, draws=2, fid_min_samples_per_dim=0)
    assert same["coverage"] == 1.0 and same["density"] == pytest.approx(1.0)
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    far = fidelity_from_features(real, real + 100.0, bootstrap=0, draws=2, fid_min_samples_per_dim=0)
    assert far["coverage"] == 0.0 and far["density"] == 0.0 and far["precision"] == 0.0
    # one fake point inside many balls: density counts multiplicity, coverage does not
    fake = rng.normal(0.3, 1.2, size=(60, 5))
    res = fidelity_from_features(real, fake, bootstrap=0, draws=2, fid_min_samples_per_dim=0)
    density, coverage = _naeem_density_coverage(real, fake, 3)
    assert res["density"] == pytest.approx(density) and res["coverage"] == pytest.approx(coverage)


def test_prdc_equal_n_with_real_vs_real_beside(real_features, session):
    from medganbench.metrics.fidelity import fidelity_from_features

    train, test = real_features
    rng = np.random.default_rng(0)
    heldout, others = train[:524], train[524:]
    fake = test[:300] + rng.normal(0, 0.5, test[:300].shape)
    res = fidelity_from_features(others, fake, heldout_features=heldout, bootstrap=0, draws=30,
                                 fid_min_samples_per_dim=2)
    assert res["prdc_n"] == 300 and res["prdc_draws"] >= 10
    for key in ("precision", "recall", "density", "coverage"):
        assert res[f"{key}_real"] is not None
    assert res["precision"] < res["precision_real"] and res["coverage"] < res["coverage_real"]
    assert 0.6 < res["recall_real"] <= 1.0 and 0.6 < res["coverage_real"] <= 1.0


def test_kid_floor_excess_and_intervals_stay_in_range(real_features, session):
    from medganbench.metrics.fidelity import fidelity_from_features

    train, test = real_features
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(train))
    heldout, fresh, reference = train[perm[:524]], train[perm[524:1024]], train[perm[1024:]]
    real = fidelity_from_features(reference, fresh, heldout_features=heldout, bootstrap=20, draws=20,
                                  fid_min_samples_per_dim=2)
    noisy = fidelity_from_features(reference, fresh + rng.normal(0, 0.5, fresh.shape),
                                   heldout_features=heldout, bootstrap=20, draws=20, fid_min_samples_per_dim=2)
    for r in (real, noisy):
        for key in ("kid_ci_low", "fid_ci_low", "fid_floor_low"):
            assert r[key] >= 0.0, key
        assert r["kid_excess_ci_low"] >= min(-max(r["kid_floor_mean"], 0.0), r["kid_excess"])
        assert r["fid_excess_ci_low"] >= -r["fid_floor"]
        assert r["kid_ci_low"] <= max(r["kid_mean"], 0.0) <= r["kid_ci_high"]
        assert r["kid_excess_ci_low"] <= r["kid_excess"] <= r["kid_excess_ci_high"]
        assert "clipped" in r["interval_method"]
    # a fresh real set lies inside the floor's range; the noisy one's excess is clearly positive
    assert real["kid_floor_low"] <= real["kid_mean"] <= real["kid_floor_high"]
    assert real["kid_excess_ci_low"] <= 0.0 <= real["kid_excess_ci_high"]
    # (KID is not asserted here: independent noise added to FEATURES leaves its off-diagonal kernel terms
    # unchanged; noise added to IMAGES moves KID through the extractor, see tests/test_protocol_sanity.py)
    assert noisy["fid_excess_ci_low"] > 0.0
    assert real["kid_floor_n"] == round(500 * 524 / 1024) and real["fid_floor_n"] == 500


def test_fid_infinity_removes_the_small_sample_bias(session):
    """Gaussian features with a known population FID: FID_N is biased up, FID-infinity is not."""
    from medganbench.metrics.fidelity import fidelity_from_features

    rng = np.random.default_rng(0)
    dim, shift = 8, 0.3
    real = rng.normal(size=(20000, dim))
    fake = rng.normal(shift, 1.0, size=(1600, dim))
    truth = dim * shift**2
    res = fidelity_from_features(real, fake, bootstrap=0, draws=4, fid_min_samples_per_dim=20)
    assert res["fid_min_n"] == 160 and res["fid_fixed_n"] == 160 and res["fid_inf_reason"] is None
    assert res["fid_at_fixed_n"] - truth > 0.05  # FID of 160 images is biased up ...
    assert res["fid_at_fixed_n"] > res["fid"]  # ... and the bias shrinks with n
    assert abs(res["fid_inf"] - truth) < 0.08  # the 1/N extrapolation removes it


def test_few_samples_withhold_fid_but_report_kid_and_prc(real_features, session):
    from medganbench.metrics.fidelity import fidelity_from_features

    train, test = real_features
    res = fidelity_from_features(train[:500], test[:60], heldout_features=test[60:], bootstrap=10, draws=4)
    assert res["fid_min_n"] == 490  # 10 x 49 dims
    assert res["fid"] is None and res["fid_ci_low"] is None and res["fid_floor"] is None
    assert res["fid_inf"] is None and res["fid_at_fixed_n"] is None
    for key in ("fid_reason", "fid_floor_reason", "fid_inf_reason", "fid_at_fixed_n_reason"):
        assert "60" in res[key] or "not reported" in res[key], key
    assert "FID not reported" in res["fid_reason"] and "60" in res["fid_reason"]
    assert res["kid_subset_size"] == 60 and res["kid_mean"] is not None and res["kid_excess"] is not None
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
