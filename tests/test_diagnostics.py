"""Training diagnostics rank known cases in the order of common sense."""

import numpy as np
import pytest

from medganbench.diagnostics import (
    diagnose,
    discriminator_wins,
    diversity_ratio,
    mean_pairwise_distance,
    oscillation_index,
    oscillation_null_quantile,
)


def test_diversity_ratio_orders_real_partial_and_full_collapse(medmnist_root):
    from medganbench.data import load_dataset

    x = load_dataset("pneumoniamnist", split="train").images[:128].astype(np.float64) / 127.5 - 1
    ref, other = x[:64], x[64:]
    two_modes = np.concatenate([np.repeat(other[:1], 32, 0), np.repeat(other[1:2], 32, 0)])
    collapsed = np.repeat(other[:1], 64, 0) + 0.01 * np.random.default_rng(0).standard_normal(other.shape)
    r_real, r_two, r_one = (diversity_ratio(g, ref) for g in (other, two_modes, collapsed))
    assert 0.85 < r_real < 1.15
    assert r_one < 0.2 < r_two < r_real
    assert mean_pairwise_distance(np.zeros((5, 3))) == 0.0
    with pytest.raises(ValueError, match="no diversity"):
        diversity_ratio(other, np.zeros((4, 28, 28)))


def test_oscillation_index_separates_cycles_from_noise_and_drift():
    rng = np.random.default_rng(1)
    n = 60
    noise = [oscillation_index(rng.standard_normal(n)) for _ in range(50)]
    cycle = oscillation_index(1.0 + 0.5 * np.sin(np.arange(n) * 0.6) + 0.1 * rng.standard_normal(n))
    drift = oscillation_index(np.linspace(3, 1, n) + 0.01 * rng.standard_normal(n))
    null = oscillation_null_quantile(n)
    assert cycle > null > np.median(noise)
    assert drift < null  # a trend alone is not an oscillation
    assert np.isnan(oscillation_index([1, 2, 3]))


def test_diagnose_gives_verdicts_with_their_numbers():
    t = np.arange(80)
    rows = [{"step": s, "discriminator_loss": 1.2 + 0.6 * np.sin(s * 0.5), "d_fake": 0.01,
             "diversity_ratio": 0.1} for s in t]
    v = diagnose(rows)
    assert v["oscillation"]["oscillating"] is True and v["mode_collapse"]["collapsed"] is True
    assert v["discriminator_wins"]["wins"] is True
    calm = [{"step": s, "discriminator_loss": 1.3 + 0.02 * np.random.default_rng(s).standard_normal(),
             "d_fake": 0.4, "diversity_ratio": 0.95} for s in t]
    v = diagnose(calm)
    assert not v["oscillation"]["oscillating"] and not v["mode_collapse"]["collapsed"]
    assert not v["discriminator_wins"]["wins"]
    assert diagnose([{"step": 1, "loss": 0.3}])["oscillation"]["oscillating"] is None
    assert discriminator_wins([0.0] * 10, probability=False)["wins"] is None


def test_trainer_logs_live_diagnostics_and_writes_verdicts(tmp_path, medmnist_root):
    import csv
    import json

    from medganbench.train import TrainConfig, run_training

    cfg = TrainConfig(model="dcgan", steps=12, batch_size=16, out=str(tmp_path / "r"), log_every=1, sample_every=0,
                      checkpoint_every=0, ema_decay=0.0, progress=False)
    result = run_training(cfg, {"base_filters": 8, "latent_dim": 8})
    rows = list(csv.DictReader(open(result.run_dir / "log.csv")))
    assert len(rows) == 12 and all(0 <= float(r["diversity_ratio"]) < 5 for r in rows)
    assert np.isnan(float(rows[0]["oscillation_index"])) and 0 <= float(rows[-1]["oscillation_index"]) <= 1
    diag = json.loads((result.run_dir / "run.json").read_text())["diagnostics"]
    assert set(diag) == {"mode_collapse", "oscillation", "discriminator_wins"}
    assert diag["mode_collapse"]["value"] == round(float(rows[-1]["diversity_ratio"]), 4)
