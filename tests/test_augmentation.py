"""Augmentation gain under protocol 2.0: the generator sees only its regime's subset; paired statistics; determinism."""

from __future__ import annotations

import numpy as np
import pytest

from medganbench.classifier import ClassifierRecipe


def test_paired_gain_interval_and_p_value_match_scipy():
    from scipy import stats

    from medganbench.metrics.augmentation import paired_gain

    d = [0.02, 0.05, -0.01, 0.03, 0.04]
    g = paired_gain(d)
    t = stats.ttest_1samp(d, 0.0)
    ci = t.confidence_interval(0.95)
    assert g["n"] == 5 and g["mean"] == pytest.approx(np.mean(d)) and g["std"] == pytest.approx(np.std(d, ddof=1))
    assert g["p_value"] == pytest.approx(t.pvalue)
    assert (g["ci_low"], g["ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    # no spread: the interval is the point and the p-value is undefined, not invented
    flat = paired_gain([0.0, 0.0, 0.0])
    assert flat["p_value"] is None and flat["ci_low"] == flat["ci_high"] == 0.0
    assert paired_gain([])["mean"] is None


def test_deterministic_ops_are_scoped_and_repeat_a_training(medmnist_root):
    from tensorflow.python.framework import config as tf_config

    from medganbench.classifier import train_classifier
    from medganbench.data import load_dataset
    from medganbench.determinism import deterministic_ops

    val = load_dataset("pneumoniamnist", "val", 28)
    x, y = val.images[:64], val.labels[:64]
    tiny = ClassifierRecipe(width=8, epochs=1, min_steps=6, batch_size=32)
    assert not tf_config.is_op_determinism_enabled()
    weights = []
    for _ in range(2):
        with deterministic_ops():
            assert tf_config.is_op_determinism_enabled()
            clf = train_classifier(x, y, x, y, tiny, seed=3, task="binary", progress=False)
        weights.append(np.concatenate([w.ravel() for w in clf.model.get_weights()]))
    assert not tf_config.is_op_determinism_enabled()  # a user's process is left as it was
    np.testing.assert_array_equal(weights[0], weights[1])


def test_the_generator_is_trained_on_the_regime_subset_only_so_a_copier_copies_only_it(medmnist_root, tmp_path,
                                                                                      monkeypatch):
    """The benchmark's SubsetGenerator hands its trainer only the regime's subset; a copier behind it (here: a
    "trainer" that memorizes its training set and a "sampler" that returns those images) adds no image the
    regime did not already have, whatever it would like to copy."""
    import medganbench.bench.runs as runs_mod
    import medganbench.samples as sample_mod
    from medganbench.bench.runs import SubsetGenerator
    from medganbench.data import load_dataset
    from medganbench.data.subsets import subset_indices
    from medganbench.metrics.augmentation import augmentation_gain

    seen = {}

    def memorize(tcfg, *, dataset=None, subset=None, model_overrides=None):  # stands in for GAN training
        seen[tcfg.seed] = (np.array(dataset.images), np.array(dataset.labels).reshape(-1))
        return {"run_dir": tcfg.seed, "steps": tcfg.steps, "wall_time_s": 0.0}

    def copy_out(run_dir, n, labels=None, seed=0):  # stands in for sampling: copies of the memorized images
        images, ys = seen[run_dir]
        wanted = np.asarray(labels).reshape(-1)
        pick = [np.flatnonzero(ys == c)[i % np.sum(ys == c)] for i, c in enumerate(wanted)]
        return images[pick], wanted.reshape(-1, 1)

    monkeypatch.setattr(runs_mod, "train_generator", memorize)
    monkeypatch.setattr(sample_mod, "generate_samples", copy_out)
    gen = SubsetGenerator("cdcgan", "pneumoniamnist", 28, steps=5, batch_size=64, out=tmp_path, num_classes=2)
    tiny = ClassifierRecipe(width=8, epochs=1, min_steps=6, batch_size=64)
    summary, runs = augmentation_gain("pneumoniamnist", synthesize=gen, regimes=(0.01,), seeds=(0, 1, 2),
                                      arms=("real", "mixed"), recipe=tiny, progress=False, return_runs=True)

    train = load_dataset("pneumoniamnist", "train", 28)
    for seed in (0, 1, 2):
        idx = subset_indices(train.labels, fraction=0.01, seed=seed)
        np.testing.assert_array_equal(seen[seed][0], train.images[idx])  # exactly the subset, nothing more
        assert len(seen[seed][0]) == 47 < len(train)
    assert len({t["subset_sha256"] for t in gen.trained}) == 3  # a fresh subset (and generator) per seed
    assert summary["generator_scope"] == "subset" and summary["p1_n_synthetic"] == 47
    assert len(runs) == 6 and {r["arm"] for r in runs} == {"real", "mixed"}
    g = [summary[f"p1_gain_auc_{k}"] for k in ("ci_low", "mean", "ci_high")]
    assert g[0] <= g[1] <= g[2]
    assert summary["p1_gain_auc_p_value"] is None or 0.0 <= summary["p1_gain_auc_p_value"] <= 1.0


def test_a_finished_study_is_reused_only_with_the_same_settings_and_generators(tmp_path):
    from medganbench.bench.runs import load_study, save_study

    run = tmp_path / "n235-seed0"
    run.mkdir()
    (run / "generator.keras").write_bytes(b"weights")
    key = {"spec": {"seeds": [0, 1, 2], "generator_steps": 300}, "recipe": {"epochs": 10}}
    save_study(tmp_path, key, {"p5_gain_auc_mean": 0.01}, [{"seed": 0, "run_dir": str(run)}])
    values, trained = load_study(tmp_path, key)
    assert values == {"p5_gain_auc_mean": 0.01} and trained[0]["seed"] == 0
    assert load_study(tmp_path, {**key, "recipe": {"epochs": 5}}) is None       # other settings
    (run / "generator.keras").write_bytes(b"retrained")
    assert load_study(tmp_path, key) is None                                    # another generator
