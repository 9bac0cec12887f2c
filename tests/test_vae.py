"""VAE and autoencoder: registered models trained by the Trainer and sampled by `medganbench sample`."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from medganbench.models import build
from medganbench.samples import load_samples

SMALL = dict(base_filters=8, latent_dim=4)


def _xrays(n=32):
    from medganbench.data import load_dataset
    from medganbench.data.pipeline import to_float

    return tf.constant(to_float(load_dataset("pneumoniamnist", split="val").images[:n]))


@pytest.mark.parametrize("name", ["vae", "autoencoder"])
def test_training_lowers_the_reconstruction_error_on_real_xrays(name, medmnist_root):
    m = build(name, (28, 28, 1), **SMALL)
    x = _xrays()
    step = tf.function(m.train_step)
    first = step({"images": x})
    for _ in range(25):
        out = step({"images": x})
    assert float(out["reconstruction_loss"]) < 0.7 * float(first["reconstruction_loss"])
    assert float(out["encoder_grad_norm"]) > 0  # the reparameterised sample carries gradients to the encoder
    assert set(m.parameter_counts()) == {"generator", "encoder"}
    rec = m.reconstruct(x.numpy()[:4])
    assert rec.shape == (4, 28, 28, 1) and -1 <= rec.min() and rec.max() <= 1
    if name == "vae":
        assert float(out["kl"]) >= 0


def test_vae_kl_is_zero_at_the_prior_and_positive_elsewhere():
    m = build("vae", (28, 28, 1), **SMALL)
    enc = m.networks["encoder"]
    for w in enc.weights:  # encoder outputs exactly (mu, logvar) = (0, 0): q(z|x) = N(0, I)
        w.assign(tf.zeros_like(w))
    x = tf.zeros((4, 28, 28, 1))
    assert abs(float(m._losses(x)["kl"])) < 1e-6
    enc.weights[-1].assign(tf.ones_like(enc.weights[-1]))  # bias 1: mu = 1, logvar = 1
    kl = float(m._losses(x)["kl"])
    expected = 0.5 * SMALL["latent_dim"] * (1 + np.e - 1 - 1)
    assert abs(kl - expected) < 1e-4


def test_cli_trains_and_samples_a_vae(tmp_path, medmnist_root):
    # The CLI's own entry point, in-process (a subprocess would pay TensorFlow's import twice more).
    from medganbench.cli import main

    run = tmp_path / "vae"
    assert main(["train", "--model", "vae", "--steps", "4", "--batch-size", "16", "--out", str(run),
                 "--no-progress", "--set", "base_filters=8", "--set", "latent_dim=4"]) == 0
    header = (run / "log.csv").read_text().splitlines()[0]
    assert "kl" in header and "reconstruction_loss" in header
    out = tmp_path / "s.npz"
    assert main(["sample", "--run", str(run), "--n", "20", "--out", str(out)]) == 0
    images, labels = load_samples(out)
    assert images.shape == (20, 28, 28, 1) and images.dtype == np.uint8 and labels is None
    assert images.std(axis=0).mean() > 0  # different z, different images
