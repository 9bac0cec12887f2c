"""Training throughput (images/s) of the kit's DCGAN step vs a plain Keras-examples reference, in one run.

The reference is written the way the Keras examples do it: a ``keras.Model`` subclass overriding
``train_step`` (one D update on real and fake, one G update, binary cross-entropy on logits), driven by
``fit``. Both use the SAME generator/discriminator (``medganbench.models.dcgan`` builders, same seed),
the same real PneumoniaMNIST images and batch size. The kit's step also updates the EMA generator.

    MEDGANBENCH_DATA=... python benchmarks/train_throughput.py [--steps 200] [--batch-size 128]

Runs every variant once per round (``--rounds``, rotating the order) and prints each variant's median
images/s, its range, and its ratio to the reference measured in the same round. Run it on an otherwise
idle machine; the project's target is kit / reference >= 1.3 on CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def make_reference(generator, discriminator, latent_dim):
    import keras
    import tensorflow as tf

    class ReferenceGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
            self.bce = keras.losses.BinaryCrossentropy(from_logits=True)

        def compile(self, d_optimizer, g_optimizer, **kw):
            super().compile(**kw)
            self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

        def train_step(self, data):
            real = data["images"]
            b = tf.shape(real)[0]
            z = tf.random.normal((b, self.latent_dim))
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                real_logits = self.discriminator(real, training=True)
                fake_logits = self.discriminator(fake, training=True)
                d_loss = (self.bce(tf.ones_like(real_logits), real_logits)
                          + self.bce(tf.zeros_like(fake_logits), fake_logits))
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
            z = tf.random.normal((b, self.latent_dim))
            with tf.GradientTape() as tape:
                fake_logits = self.discriminator(self.generator(z, training=True), training=True)
                g_loss = self.bce(tf.ones_like(fake_logits), fake_logits)
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
            return {"d_loss": d_loss, "g_loss": g_loss}

    return ReferenceGAN()


def build_reference(images, args, **compile_kw):
    """The reference GAN on the kit's DCGAN networks (same seed), compiled with ``compile_kw``."""
    import keras

    from medganbench.models.dcgan import DCGANConfig, build_dcgan_discriminator, build_dcgan_generator

    cfg = DCGANConfig()
    keras.utils.set_random_seed(args.seed)
    shape = images.shape[1:]
    g = build_dcgan_generator(shape, cfg.latent_dim, cfg.base_filters, cfg.max_filters)
    d = build_dcgan_discriminator(shape, cfg.base_filters, cfg.max_filters)
    model = make_reference(g, d, cfg.latent_dim)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), **compile_kw)
    return model


def time_reference(images, args, steps_per_execution=1, jit_compile=False):
    from medganbench.data.pipeline import make_dataset

    model = build_reference(images, args, steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    ds = make_dataset(images, batch_size=args.batch_size, seed=args.seed)
    model.fit(ds, steps_per_epoch=args.warmup, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=args.steps, epochs=1, verbose=0)
    return args.steps * args.batch_size / (time.perf_counter() - start)


def time_reference_loop(images, args):
    """The reference's own ``train_step`` in a plain ``tf.function`` loop: what ``fit`` itself costs."""
    import tensorflow as tf

    from medganbench.data.pipeline import make_dataset

    step = tf.function(build_reference(images, args).train_step)
    iterator = iter(make_dataset(images, batch_size=args.batch_size, seed=args.seed))
    for _ in range(args.warmup):
        out = step(next(iterator))
    float(out["g_loss"])
    start = time.perf_counter()
    for _ in range(args.steps):
        out = step(next(iterator))
    float(out["g_loss"])
    return args.steps * args.batch_size / (time.perf_counter() - start)


def time_kit(images, args, steps_per_call=1, jit_compile=False, ema_decay=0.999, precision="off"):
    import tempfile

    import keras

    from medganbench.models import build
    from medganbench.train import TrainConfig, Trainer, make_input_pipeline

    if precision != "off":
        keras.mixed_precision.set_global_policy(f"mixed_{precision}")
    try:
        model = build("dcgan", images.shape[1:], seed=args.seed)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    cfg = TrainConfig(batch_size=args.batch_size, steps_per_call=steps_per_call, jit_compile=jit_compile,
                      ema_decay=ema_decay, progress=False, seed=args.seed)
    trainer = Trainer(model, {"images": images}, cfg, tempfile.mkdtemp(prefix="mgb-bench-"))
    pipeline = make_input_pipeline(trainer.arrays, args.batch_size, args.seed)
    iterator = iter(trainer.strategy.experimental_distribute_dataset(pipeline))
    call = trainer._build_call(steps_per_call)
    for _ in range(max(1, args.warmup // steps_per_call)):
        out = call(iterator)
    float(out["generator_loss"])
    calls = max(1, args.steps // steps_per_call)
    start = time.perf_counter()
    for _ in range(calls):
        out = call(iterator)
    float(out["generator_loss"])  # wait for the last step
    return calls * steps_per_call * args.batch_size / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100, help="timed steps per variant and round")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps first (tracing)")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds; each runs every variant once, in a rotated order")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--xla", action="store_true", help="also time XLA (jit_compile) variants")
    args = p.parse_args()

    from medganbench.data import load_dataset
    from medganbench.runtime import configure_tensorflow

    configure_tensorflow()
    import tensorflow as tf

    images = load_dataset("pneumoniamnist", size=args.size).images
    device = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    print(f"device: {device} ({tf.config.list_logical_devices(device)[0].name}); batch {args.batch_size}, "
          f"{args.size}px, {args.steps} timed steps after {args.warmup} warm-up steps, {args.rounds} rounds")
    variants = [
        ("reference: keras.Model.train_step + fit", lambda: time_reference(images, args)),
        ("reference, steps_per_execution=8", lambda: time_reference(images, args, steps_per_execution=8)),
        ("reference train_step in a tf.function loop", lambda: time_reference_loop(images, args)),
        ("kit Trainer step (with EMA)", lambda: time_kit(images, args)),
        ("kit Trainer step, steps_per_call=8", lambda: time_kit(images, args, steps_per_call=8)),
        ("kit Trainer step, no EMA", lambda: time_kit(images, args, ema_decay=0.0)),
    ]
    if device == "CPU":
        variants.append(("kit Trainer step, mixed bfloat16", lambda: time_kit(images, args, precision="bfloat16")))
    else:
        variants.append(("kit Trainer step, mixed float16", lambda: time_kit(images, args, precision="float16")))
    if args.xla:
        variants += [
            ("reference, XLA", lambda: time_reference(images, args, jit_compile=True)),
            ("kit Trainer step, XLA", lambda: time_kit(images, args, jit_compile=True)),
            ("kit Trainer step, XLA, steps_per_call=8", lambda: time_kit(images, args, steps_per_call=8,
                                                                          jit_compile=True)),
        ]
    # A single pass is misleading on a small shared machine: the same variant measured 470-800
    # images/s in one idle process. So every round runs every variant (rotating which goes first),
    # and ratios are taken within a round, against that round's reference.
    names = [n for n, _ in variants]
    ref_name = names[0]
    runs: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for name, fn in order:
            runs[name].append(fn())
            print(f"round {r + 1}: {name:45s} {runs[name][-1]:9.1f} images/s", flush=True)
    print(f"\n{'variant':45s} {'median img/s':>12s} {'min-max':>15s}   ratio to reference: median (per round)")
    for name in names:
        ratios = [v / ref for v, ref in zip(runs[name], runs[ref_name])]
        print(f"{name:45s} {statistics.median(runs[name]):12.1f} {min(runs[name]):7.0f}-{max(runs[name]):<7.0f}"
              f"   {statistics.median(ratios):5.2f}x ({', '.join(f'{x:.2f}' for x in ratios)})")
    print("\nproject target: kit Trainer step >= 1.3x the reference on CPU")


if __name__ == "__main__":
    main()
