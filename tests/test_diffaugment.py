"""DiffAugment: each op is differentiable, does what its name says, is seeded, and trains in a GAN."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from medganbench.diffaugment import diff_augment, parse_policy
from medganbench.errors import ConfigError


def _images(b=8, h=28):
    rng = np.random.default_rng(0)
    return tf.constant(rng.uniform(-1, 1, (b, h, h, 1)).astype(np.float32))


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_gradients_reach_the_images(policy):
    x = _images()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = diff_augment(x, policy, tf.random.Generator.from_seed(1))
        loss = tf.reduce_sum(y * y)
    g = tape.gradient(loss, x)
    assert y.shape == x.shape
    assert g is not None and float(tf.reduce_sum(tf.abs(g))) > 0


def test_translation_moves_content_by_at_most_an_eighth():
    x = np.full((64, 32, 32, 1), -1.0, np.float32)
    x[:, 16, 16, 0] = 1.0  # one bright pixel in the middle
    y = diff_augment(tf.constant(x), "translation", tf.random.Generator.from_seed(3)).numpy()
    shifts = [np.argwhere(img[..., 0] == 1.0)[0] - 16 for img in y]
    shifts = np.array(shifts)
    assert np.abs(shifts).max() <= 4 and np.abs(shifts).max() >= 3  # 32/8 = 4
    assert len({tuple(s) for s in shifts}) > 10  # per-image shifts, not one for the batch
    assert np.isclose(y, 0.0).any()  # the border is filled with 0 (mid-grey)


def test_cutout_blanks_a_quarter_of_the_area_at_most():
    x = tf.ones((32, 28, 28, 1))
    y = diff_augment(x, "cutout", tf.random.Generator.from_seed(0)).numpy()
    blank = (y == 0).mean(axis=(1, 2, 3))
    assert blank.max() <= 0.25 + 1e-6 and blank.min() > 0.05  # a 14x14 square, possibly clipped by the edge


def test_color_changes_brightness_and_contrast_per_image():
    x = _images(16)
    y = diff_augment(x, "color", tf.random.Generator.from_seed(0)).numpy()
    dmean = (y - x.numpy()).mean(axis=(1, 2, 3))
    assert np.abs(dmean).max() > 0.05 and np.std(dmean) > 0.05


def test_same_seed_same_augmentation():
    x = _images()
    a = diff_augment(x, "color,translation,cutout", tf.random.Generator.from_seed(5)).numpy()
    b = diff_augment(x, "color,translation,cutout", tf.random.Generator.from_seed(5)).numpy()
    np.testing.assert_array_equal(a, b)


def test_policy_errors_name_the_value():
    assert parse_policy("") == () and parse_policy("none") == ()
    assert parse_policy(" color , cutout") == ("color", "cutout")
    with pytest.raises(ConfigError, match="'colr'.*color, translation, cutout"):
        parse_policy("colr,cutout")


def test_a_dcgan_trains_with_diffaugment_and_spectral_norm():
    from medganbench.models import build

    m = build("dcgan", (28, 28, 1), base_filters=8, latent_dim=8, diffaugment="color,translation,cutout",
              spectral_norm=True)
    assert any("spectral" in layer.name for layer in m.discriminator.layers)
    x = tf.constant(m.generate(8, seed=0))
    out = m.train_step({"images": x, "labels": tf.zeros([8], tf.int32)})
    assert all(np.isfinite(float(v)) for v in out.values())
    with pytest.raises(ConfigError, match="translaton"):
        build("dcgan", (28, 28, 1), base_filters=8, latent_dim=8, diffaugment="translaton")


def test_spectral_norm_holds_each_layer_near_unit_norm():
    from medganbench.models import build

    m = build("mlp", (28, 28, 1), latent_dim=8, generator_units=(16,), discriminator_units=(64, 32),
              spectral_norm=True, learning_rate_discriminator=1e-2)
    x = tf.constant(m.generate(16, seed=0))
    step = tf.function(m.train_step)
    for _ in range(8):  # one power iteration per call: the estimate of sigma converges as D trains
        step({"images": x, "labels": tf.zeros([16], tf.int32)})
    for layer in m.discriminator.layers:
        if "spectral" in layer.name:
            w = layer.layer.kernel.numpy()
            sigma = np.linalg.svd(w.reshape(-1, w.shape[-1]), compute_uv=False)[0]
            assert 0.5 < sigma < 1.3, (layer.name, sigma)


def test_bench_passes_model_settings_to_training(tmp_path, medmnist_root, capsys):
    import json

    from medganbench.bench.runs import train_generator
    from medganbench.cli import main
    from medganbench.train import TrainConfig

    # a typo fails at once, naming the value, before anything trains
    assert main(["bench", "--model", "dcgan", "--set", "diffaugment=colr", "--out", str(tmp_path / "b")]) == 2
    assert "'colr'" in capsys.readouterr().err
    assert not (tmp_path / "b" / "train").exists()
    tcfg = TrainConfig(model="dcgan", steps=2, batch_size=8, out=str(tmp_path / "b" / "train"), overwrite=True,
                       progress=False)
    run = train_generator(tcfg, model_overrides={"diffaugment": "color,translation"})
    assert json.loads((run["run_dir"] / "model.json").read_text())["diffaugment"] == "color,translation"
    assert run["config"]["model"]["diffaugment"] == "color,translation"
