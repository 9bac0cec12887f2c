"""Model shapes for sizes/channels, the build() errors, and reloading a saved generator."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from medganbench.errors import ConfigError
from medganbench.models import build
from medganbench.models.dcgan import upsampling_plan

SMALL = dict(base_filters=8, latent_dim=8)


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3), (64, 1), (128, 3)])
def test_dcgan_adapts_to_size_and_channels(size, channels):
    m = build("dcgan", (size, size, channels), **SMALL)
    x = m.generate(2, seed=0)
    assert x.shape == (2, size, size, channels) and x.dtype == np.float32
    assert x.min() >= -1 and x.max() <= 1
    logits = m.discriminator(x, training=False)
    assert tuple(logits.shape) == (2, 1)


@pytest.mark.parametrize("name", ["mlp", "wgan-gp", "cdcgan"])
def test_other_models_generate_and_train_one_step(name):
    import tensorflow as tf

    kw = dict(latent_dim=8) if name == "mlp" else dict(SMALL)
    if name == "mlp":
        kw.update(generator_units=(16,), discriminator_units=(16,))
    m = build(name, (28, 28, 1), num_classes=3, **kw)
    x = m.generate(4, seed=0)
    assert x.shape == (4, 28, 28, 1)
    batch = {"images": tf.constant(x), "labels": tf.constant([0, 1, 2, 0], tf.int32)}
    before = [w.numpy().copy() for w in m.generator.trainable_weights]
    out = m.train_step(batch)
    for key in ("discriminator_loss", "generator_loss", "d_real", "d_fake",
                "generator_grad_norm", "discriminator_grad_norm"):
        assert np.isfinite(float(out[key])), key
    after = [w.numpy() for w in m.generator.trainable_weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after)), "generator did not move"
    counts = m.parameter_counts()
    assert set(counts) == {"generator", "discriminator"} and all(v > 0 for v in counts.values())
    if name == "wgan-gp":
        assert "gradient_penalty" in out
        assert not any("batch_normalization" in l.name for l in m.discriminator.layers)


def test_conditional_generator_uses_the_label():
    m = build("cdcgan", (28, 28, 1), num_classes=2, **SMALL)
    noise = m.sample_noise(4, seed=0)
    a = m.generate(noise=noise, labels=[0, 0, 0, 0])
    b = m.generate(noise=noise, labels=[1, 1, 1, 1])
    assert not np.allclose(a, b)


def test_build_errors_name_the_problem():
    with pytest.raises(ConfigError, match="latent_dimm.*latent_dim"):
        build("dcgan", (28, 28, 1), latent_dimm=3)
    with pytest.raises(ConfigError, match="dcgna.*dcgan"):
        build("dcgna", (28, 28, 1))
    with pytest.raises(ConfigError, match="num_classes"):
        build("cdcgan", (28, 28, 1), num_classes=0, **SMALL)
    with pytest.raises(ConfigError, match="loss family"):
        build("dcgan", (28, 28, 1), loss="nope", **SMALL)
    with pytest.raises(ConfigError, match="30"):
        upsampling_plan(30)


def test_same_seed_same_weights_and_different_seed_different():
    a = build("dcgan", (28, 28, 1), seed=3, **SMALL).generate(2, seed=0)
    b = build("dcgan", (28, 28, 1), seed=3, **SMALL).generate(2, seed=0)
    c = build("dcgan", (28, 28, 1), seed=4, **SMALL).generate(2, seed=0)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_saved_generator_reloads_without_custom_objects(tmp_path):
    import keras

    m = build("cdcgan", (32, 32, 3), num_classes=2, **SMALL)
    path = tmp_path / "g.keras"
    m.generator.save(path)
    g = keras.models.load_model(path, compile=False)
    noise = m.sample_noise(3, seed=1)
    np.testing.assert_allclose(m.generate(noise=noise, labels=[0, 1, 0], generator=g),
                               m.generate(noise=noise, labels=[0, 1, 0]), atol=1e-6)
