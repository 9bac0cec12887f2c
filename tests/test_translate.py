"""Translation: pair builders on real data, losses, PSNR/SSIM/MAE against known values, a short
training run that lowers the L1 error on real images, and the CLI train + eval round trip."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from medganbench.translate import metrics as M
from medganbench.translate import tasks as T
from medganbench.translate.mr import GAP, block_split

# --- pair builders ----------------------------------------------------------------------------------

def test_block_split_is_contiguous_disjoint_and_gapped():
    idx = block_split(300)
    sets = {k: set(v.tolist()) for k, v in idx.items()}
    assert not (sets["train"] & sets["test"]) and not (sets["train"] & sets["val"]) and not (sets["val"] & sets["test"])
    assert all(len(v) for v in idx.values())
    owner = {i: k for k, v in sets.items() for i in v}
    for i, split in owner.items():  # any two slices of different splits are at least GAP + 1 apart
        for j in range(i + 1, i + GAP + 1):
            assert owner.get(j, split) == split


def test_mr_denoise_pairs_shapes_noise_and_split_hygiene(dicom_root):
    train = T.build_pairs("denoise-mr", "train", dicom=dicom_root, seed=0)
    test = T.build_pairs("denoise-mr", "test", dicom=dicom_root, seed=0)
    test_other_seed = T.build_pairs("denoise-mr", "test", dicom=dicom_root, seed=7)
    train_other_seed = T.build_pairs("denoise-mr", "train", dicom=dicom_root, seed=7)
    for p in (train, test):
        assert p.paired and p.inputs.dtype == np.uint8 and p.targets.dtype == np.uint8
        assert p.inputs.shape == p.targets.shape and p.inputs.shape[1:] == (64, 64, 1)
    assert len(train) > 2 * len(test) > 0
    # test noise is fixed for every run; training noise follows the run's seed
    assert np.array_equal(test.inputs, test_other_seed.inputs)
    assert not np.array_equal(train.inputs, train_other_seed.inputs)
    # no test slice appears in training
    flat_train = {t.tobytes() for t in train.targets}
    assert not any(t.tobytes() in flat_train for t in test.targets)
    # Rician statistics: on the black background the noise is Rayleigh with mean sigma*sqrt(pi/2)
    background = test.targets[..., 0] == 0
    measured = test.inputs[..., 0][background].astype(float).mean() / 255.0
    assert measured == pytest.approx(T.RICIAN_SIGMA * math.sqrt(math.pi / 2), rel=0.08)


def test_rician_and_poisson_gaussian_noise_statistics():
    rng = np.random.default_rng(0)
    bright = np.full((200_000,), 0.6)
    rice = T.add_rician_noise(bright, 0.05, rng)
    # at high SNR the Rician mean is ~ sqrt(x^2 + sigma^2) and its spread ~ sigma
    assert rice.mean() == pytest.approx(math.sqrt(0.6**2 + 0.05**2), abs=2e-3)
    assert rice.std() == pytest.approx(0.05, rel=0.03)
    for x in (0.25, 0.5):
        pg = T.add_poisson_gaussian_noise(np.full((200_000,), x), T.POISSON_PEAK, T.READOUT_SIGMA, rng)
        assert pg.mean() == pytest.approx(x, abs=3e-3)
        assert pg.var() == pytest.approx(x / T.POISSON_PEAK + T.READOUT_SIGMA**2, rel=0.05)


def test_xray_pairs_follow_official_splits_and_noise_model(medmnist_root):
    test = T.build_pairs("denoise-xray", "test", data_root=medmnist_root)
    val = T.build_pairs("denoise-xray", "val", data_root=medmnist_root)
    assert (len(test), len(val)) == (624, 524) and test.inputs.shape[1:] == (28, 28, 1)
    clean, noisy = test.targets.astype(float) / 255, test.inputs.astype(float) / 255
    mid = (clean > 0.3) & (clean < 0.7)  # away from clipping
    residual_var = np.var((noisy - clean)[mid])
    expected = np.mean(clean[mid] / T.POISSON_PEAK) + T.READOUT_SIGMA**2 + 1 / (12 * 255**2)
    assert residual_var == pytest.approx(expected, rel=0.1)
    unpaired = T.build_pairs("pneumonia-to-normal", "test", data_root=medmnist_root)
    assert not unpaired.paired and len(unpaired.inputs) + len(unpaired.targets) == 624
    assert len(unpaired.inputs) == 390  # pneumonia cases in the official test split


def test_superres_pairs_are_bicubic_upsamples_of_antialiased_downsamples(dicom_root):
    p = T.build_pairs("superres-mr", "val", dicom=dicom_root, limit=8)
    clean = p.targets.astype(float) / 255
    expected = T.upsample_bicubic(T.downsample(clean), 64)
    assert np.abs(p.inputs.astype(float) / 255 - expected).max() <= 0.5 / 255 + 1e-9
    assert T.downsample(clean).shape == (8, 16, 16, 1)
    # the input lost the fine detail: it is much smoother than the target
    assert np.abs(np.diff(p.inputs.astype(float), axis=2)).mean() < np.abs(np.diff(p.targets.astype(float), axis=2)).mean()


def test_unknown_task_and_bad_size_are_named():
    from medganbench.errors import ConfigError

    with pytest.raises(ConfigError, match="denoise-mr"):
        T.get_task("denoise-mri")
    with pytest.raises(ConfigError, match="28 px"):
        T.build_pairs("denoise-xray", "test", size=64)


# --- metrics against known values --------------------------------------------------------------------

def test_psnr_mae_known_values():
    target = np.zeros((3, 8, 8, 1))
    pred = target + 0.1
    assert M.psnr(pred, target) == pytest.approx(20.0)
    assert M.mae(pred, target) == pytest.approx(0.1)
    u8_t = np.full((2, 4, 4, 1), 100, np.uint8)
    u8_p = np.full((2, 4, 4, 1), 151, np.uint8)  # 51/255 = 0.2 -> 10 log10(1/0.04) = 13.979 dB
    assert M.psnr(u8_p, u8_t) == pytest.approx(10 * math.log10(1 / 0.04))
    assert M.psnr(target, target) == pytest.approx(100.0)  # capped, finite
    with pytest.raises(ValueError, match="shape"):
        M.psnr(pred[:2], target)


def _ssim_reference(x, y):
    """Wang et al. (2004) written out with scipy: Gaussian window sigma 1.5 (11 taps), borders cropped."""
    from scipy.ndimage import gaussian_filter

    c1, c2 = 0.01**2, 0.03**2
    f = lambda a: gaussian_filter(a, 1.5, truncate=3.5)
    mx, my = f(x), f(y)
    vx, vy, cxy = f(x * x) - mx**2, f(y * y) - my**2, f(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s[5:-5, 5:-5].mean()


def test_ssim_matches_the_formula_and_known_cases():
    rng = np.random.default_rng(1)
    x = rng.random((32, 32))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    assert M.ssim(y[None, ..., None], x[None, ..., None]) == pytest.approx(_ssim_reference(x, y), abs=1e-6)
    assert M.ssim(x[None, ..., None], x[None, ..., None]) == pytest.approx(1.0)
    # a constant image against itself inverted has no structure in common
    assert M.ssim(1 - x[None, ..., None], x[None, ..., None]) < 0


def test_baselines_gain_and_verdict(medmnist_root):
    val = T.build_pairs("denoise-xray", "val", data_root=medmnist_root, limit=64)
    params = M.tune_baselines("denoise-xray", val.inputs, val.targets)
    outs = M.baseline_outputs("denoise-xray", val.inputs, params)
    assert set(outs) == {"input", "gaussian", "nlm"}
    scores = {k: M.paired_metrics(v, val.targets) for k, v in outs.items()}
    assert scores["gaussian"]["psnr"] > scores["input"]["psnr"] + 3  # strong noise: a blur helps a lot
    assert M.best_baseline(scores) in ("gaussian", "nlm")
    gain = M.gain_over_baseline({"psnr": 30, "ssim": 0.9, "mae": 0.02}, {"psnr": 28, "ssim": 0.8, "mae": 0.03})
    assert gain == pytest.approx({"psnr": 2, "ssim": 0.1, "mae": 0.01})
    summary = M.summarize_seeds([{"psnr": 1.0, "ssim": 0, "mae": 0}, {"psnr": 3.0, "ssim": 0, "mae": 0}])
    assert summary["psnr"] == pytest.approx({"mean": 2.0, "std": math.sqrt(2), "n_seeds": 2})
    assert M.verdict(-0.5) == "does not beat the best baseline"
    assert M.verdict(0.5, 1.0).startswith("ahead") and M.verdict(2.0, 0.5) == "beats the best baseline"
    assert list(M.baseline_outputs("superres-mr", val.inputs, {})) == ["bicubic"]


# --- losses, networks --------------------------------------------------------------------------------

def test_translation_losses_known_values():
    import tensorflow as tf

    from medganbench.models import translation_losses as L

    zeros = tf.zeros((2, 4, 4, 1))
    ones = tf.ones((2, 4, 4, 1))
    assert float(L.pix2pix_discriminator_loss(zeros, zeros)) == pytest.approx(math.log(2), rel=1e-5)
    total, adv, l1 = L.pix2pix_generator_loss(zeros, ones * 0.5, zeros, l1_weight=100.0)
    assert float(adv) == pytest.approx(math.log(2), rel=1e-5) and float(l1) == pytest.approx(0.5)
    assert float(total) == pytest.approx(math.log(2) + 50.0, rel=1e-5)
    assert float(L.pix2pix_generator_loss(zeros, ones, zeros, 1.0, adversarial_weight=0.0)[0]) == pytest.approx(1.0)
    assert float(L.lsgan_translation_discriminator_loss(ones, zeros)) == 0.0
    assert float(L.lsgan_translation_discriminator_loss(zeros, ones)) == pytest.approx(1.0)
    assert float(L.lsgan_translation_generator_loss(zeros)) == pytest.approx(1.0)
    assert float(L.cycle_consistency_loss(ones, ones)) == 0.0
    assert float(L.identity_loss(ones, -ones)) == pytest.approx(2.0)


def test_patchgan_receptive_field_is_what_the_network_sees():
    import tensorflow as tf

    from medganbench.models.translation_blocks import patchgan_discriminator, patchgan_receptive_field

    assert [patchgan_receptive_field(n) for n in (1, 2, 3)] == [16, 34, 70]
    D = patchgan_discriminator(64, 1, base_filters=8, n_down=2)
    x = tf.Variable(tf.random.normal((1, 64, 64, 1)))
    with tf.GradientTape() as tape:
        logits = D(x, training=False)
        centre = logits[0, logits.shape[1] // 2, logits.shape[2] // 2, 0]
    grad = np.abs(tape.gradient(centre, x).numpy()[0, ..., 0]) > 0
    rows, cols = np.flatnonzero(grad.any(1)), np.flatnonzero(grad.any(0))
    assert rows.max() - rows.min() + 1 <= 34 and cols.max() - cols.min() + 1 <= 34
    assert rows.max() - rows.min() + 1 >= 30  # the whole patch, not a fraction of it


def test_image_pool_returns_history():
    import tensorflow as tf

    from medganbench.models.cyclegan import ImagePool

    rng = tf.random.Generator.from_seed(0)
    pool = ImagePool(4, (1, 1, 1))
    first = np.arange(4, dtype=np.float32).reshape(4, 1, 1, 1)
    assert np.array_equal(pool.query(first, rng).numpy(), first)  # filling: returned as given
    new = np.full((64, 1, 1, 1), 100.0, np.float32)
    out = pool.query(new, rng).numpy()
    from_history = int((out != 100).sum())
    assert 10 < from_history < 54  # about half come from the history
    assert set(out.ravel()) <= {0.0, 1.0, 2.0, 3.0, 100.0}
    assert np.array_equal(ImagePool(0, (1, 1, 1)).query(new, rng), new)


def test_generator_file_reloads_without_custom_objects(tmp_path):
    import keras

    from medganbench.models.translation_blocks import unet_generator

    G = unet_generator(28, 1, base_filters=8)
    G.save(tmp_path / "g.keras")
    H = keras.models.load_model(tmp_path / "g.keras")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    y = np.asarray(H(x))
    assert np.allclose(y, np.asarray(G(x)), atol=1e-6) and y.min() >= -1 and y.max() <= 1


# --- training ---------------------------------------------------------------------------------------

def test_short_pix2pix_training_lowers_l1_on_real_xrays(tmp_path, medmnist_root):
    from medganbench.translate.run import TranslateConfig, read_log, train_translation

    cfg = TranslateConfig(task="denoise-xray", steps=40, batch_size=16, log_every=20, train_limit=512)
    state = train_translation(cfg, tmp_path / "run", data_root=medmnist_root, progress=False)
    log = read_log(tmp_path / "run")
    assert [r["step"] for r in log] == [20, 40]
    assert log[-1]["l1"] < log[0]["l1"]  # training L1
    assert state["val_l1"] < 0.9 * state["val_l1_initial"]  # held-out L1 on real val X-rays
    assert state["step"] == 40 and list((tmp_path / "run" / "grids").glob("*.png"))


def test_cyclegan_trains_and_evaluates_unpaired(tmp_path, medmnist_root, monkeypatch):
    from medganbench.bench.result import validate_result
    from medganbench.classifier import ClassifierRecipe
    from medganbench.translate.evaluate import evaluate_translation
    from medganbench.translate.run import TranslateConfig, train_translation

    cfg = TranslateConfig(task="pneumonia-to-normal", steps=3, batch_size=4, log_every=3, train_limit=32)
    train_translation(cfg, tmp_path / "cg", data_root=medmnist_root, model_config={"base_filters": 8,
                                                                                   "res_blocks": 1},
                      progress=False)
    monkeypatch.setenv("MEDGANBENCH_CACHE", str(tmp_path / "cache"))  # a tiny judge, trained here
    tiny = ClassifierRecipe(width=8, epochs=1, min_steps=10, batch_size=64)
    result = evaluate_translation([tmp_path / "cg"], tmp_path / "ev", data_root=medmnist_root, write_figures=False,
                                  judge_recipe=tiny)
    assert validate_result(result) == []
    groups = result["metrics"]["translation"]
    judge = groups["classifier"]["values"]
    assert all(0 <= judge[k] <= 1 for k in ("translated_classified_normal_fraction",
                                            "input_classified_normal_fraction"))
    assert groups["classifier"]["extractor_id"] in {e["id"] for e in result["eval_spec"]["extractors"].values()}
    assert groups["cycle"]["status"] == "ok" and 0 <= groups["cycle"]["values"]["mae"] <= 1
    assert all(g["status"] in ("ok", "skipped") for g in groups.values())
    assert all("reason" in g for g in groups.values() if g["status"] == "skipped")


def test_cli_train_resume_and_eval_on_mr(tmp_path, cli, dicom_root):
    from medganbench.bench.result import validate_result

    run = tmp_path / "runs" / "dn"
    args = ["translate", "train", "--task", "denoise-mr", "--steps", "4", "--log-every", "2",
            "--batch-size", "8", "--dicom", str(dicom_root), "--out", str(run), "--no-progress"]
    cli(*args, check=True)
    args[args.index("--steps") + 1] = "6"  # resume to 6 steps
    cli(*args, check=True)
    from medganbench.translate.run import read_log

    assert [r["step"] for r in read_log(run)] == [2, 4, 6]
    assert [p.name for p in sorted((run / "checkpoints").glob("*.npz"))][-1] == "step_000006.npz"
    out = tmp_path / "eval"
    proc = cli("translate", "eval", "--run", str(run), "--out", str(out), "--dicom", str(dicom_root), check=True)
    assert "gain over best baseline" in proc.stdout
    result = json.loads((out / "result.json").read_text())
    assert validate_result(result) == [] and result["task"] == "translation"
    groups = result["metrics"]["translation"]
    assert {"model", "baseline_input", "baseline_gaussian", "baseline_nlm", "baseline_nlm_rician", "gain"} <= set(groups)
    assert result["training"]["steps"] == 6 and (out / "montage.png").is_file()
    from medganbench.translate.report import leaderboard_row, render_translation_markdown

    row = leaderboard_row(result, "dn.json")
    assert row["task"] == "denoise-mr" and row["best_baseline"] == groups["gain"]["values"]["best_baseline"]
    table = render_translation_markdown([("dn.json", result)])
    assert "### denoise-mr" in table and row["verdict"] in table
    # the leaderboard build puts translation results in their own table, never in the FID ranking
    import shutil

    from medganbench.leaderboard import build_leaderboard

    subs = tmp_path / "lb" / "submissions"
    subs.mkdir(parents=True)
    shutil.copy(out / "result.json", subs / "dn.json")
    shutil.copy(Path(__file__).resolve().parents[1] / "leaderboard" / "submissions" / "dcgan-quick-seed0.json", subs)
    built = build_leaderboard(tmp_path / "lb")
    md = built["markdown"].read_text()
    assert built["n_ranked"] == 0 and built["n_superseded"] == 1 and built["n_rejected"] == 0  # dcgan: protocol 1.0
    assert "## Image-to-image translation" in md and "[dn.json](submissions/dn.json)" in md and "dcgan-quick-seed0.json" in md
    bad = cli("translate", "train", "--task", "denoise-mr", "--model", "cyclegan", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "paired" in bad.stderr
