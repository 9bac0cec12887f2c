"""Training throughput (images/s) of the kit's DCGAN step vs Keras-examples references, side by side.

The references are written the way the keras.io GAN examples do it: a ``keras.Model`` subclass overriding
``train_step`` (one D update on real and fake, one G update, binary cross-entropy on logits), float32,
driven by ``fit`` (plain, and with ``steps_per_execution=8``) and by a plain ``tf.function`` loop (what the
step costs without ``fit``). All variants use the SAME generator/discriminator (``medganbench.models.dcgan``
builders, same seed), the same real PneumoniaMNIST images and batch size. The kit's step also updates the
EMA generator. "kit default" is the step with the settings ``TrainConfig()`` resolves to on this device
(:mod:`medganbench.devices`).

    MEDGANBENCH_DATA=... python benchmarks/train_throughput.py [--steps 100] [--rounds 3] [--json out.json]

Every round runs every variant once (rotating the order). Each variant's ratio is taken within a round
against the FASTEST reference variant of that round, so a slow reference cannot flatter the kit. The
printout gives each variant's median images/s, its spread over rounds and the median ratio, then the kit
default's ratio against the target (1.3x on CPU, 2x on GPU) and, where missed, the gap.

How ``fit`` is timed: ONE ``fit`` call whose first epoch is the warm-up, timed from the end of that epoch
to the end of the last one (a callback with only epoch hooks). An earlier version timed a second ``fit``
call after a warm-up ``fit``; that reference sometimes sat at exactly 625 images/s (docs/training.md,
"Speed"); the old method stays as the diagnostic variant "reference fit, 2nd fit() call" (--diagnostics).
Every measurement also prints how many CPU cores the process kept busy while timed (process CPU time /
wall time): on an idle 2-core machine a variant stuck near 1.0 ran on one core.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: The project's targets for the kit default step / fastest reference.
TARGETS = {"cpu": 1.3, "gpu": 2.0}


def _clock() -> tuple[float, float]:
    """(wall, this process's CPU) seconds."""
    return time.perf_counter(), time.process_time()


def _rate(images: int, start, end) -> tuple[float, float]:
    """-> (images/s, CPU cores this process kept busy). Cores near 1.0 on an idle 2-core machine mean the
    step ran on one core: the signature to look for when a variant falls to a plateau."""
    wall = end[0] - start[0]
    return images / wall, (end[1] - start[1]) / wall


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
    """ONE ``fit`` call: epoch 1 is the warm-up; the later epochs are timed by an epoch-end callback."""
    import keras

    from medganbench.data.pipeline import make_dataset

    class EpochClock(keras.callbacks.Callback):
        # Epoch hooks only: a batch hook would change how fit dispatches its steps.
        def __init__(self):
            super().__init__()
            self.ends: list[tuple[float, float]] = []

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(_clock())

    model = build_reference(images, args, steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    ds = make_dataset(images, batch_size=args.batch_size, seed=args.seed)
    per_epoch = steps_per_execution * max(1, math.ceil(args.warmup / steps_per_execution))
    timed_epochs = max(1, math.ceil(args.steps / per_epoch))
    clock = EpochClock()
    model.fit(ds, steps_per_epoch=per_epoch, epochs=1 + timed_epochs, verbose=0, callbacks=[clock])
    return _rate(timed_epochs * per_epoch * args.batch_size, clock.ends[0], clock.ends[-1])


def time_reference_two_fits(images, args):
    """The earlier method, kept as a diagnostic: a warm-up ``fit`` call, then a second, timed ``fit`` call."""
    from medganbench.data.pipeline import make_dataset

    model = build_reference(images, args)
    ds = make_dataset(images, batch_size=args.batch_size, seed=args.seed)
    model.fit(ds, steps_per_epoch=args.warmup, epochs=1, verbose=0)
    start = _clock()
    model.fit(ds, steps_per_epoch=args.steps, epochs=1, verbose=0)
    return _rate(args.steps * args.batch_size, start, _clock())


def time_reference_loop(images, args):
    """The reference's own ``train_step`` in a plain ``tf.function`` loop: what ``fit`` itself costs."""
    import tensorflow as tf

    from medganbench.data.pipeline import make_dataset

    step = tf.function(build_reference(images, args).train_step)
    iterator = iter(make_dataset(images, batch_size=args.batch_size, seed=args.seed))
    for _ in range(args.warmup):
        out = step(next(iterator))
    float(out["g_loss"])
    start = _clock()
    for _ in range(args.steps):
        out = step(next(iterator))
    float(out["g_loss"])
    return _rate(args.steps * args.batch_size, start, _clock())


def time_kit(images, args, steps_per_call=1, jit_compile=False, ema_decay=0.999, precision="off"):
    """The kit Trainer's compiled call (``precision``: "off", "float16", "bfloat16")."""
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
                      ema_decay=ema_decay, mixed_precision=precision, progress=False, seed=args.seed)
    trainer = Trainer(model, {"images": images}, cfg, tempfile.mkdtemp(prefix="mgb-bench-"))
    pipeline = make_input_pipeline(trainer.arrays, args.batch_size, args.seed)
    iterator = iter(trainer.strategy.experimental_distribute_dataset(pipeline))
    call = trainer._build_call(steps_per_call)
    for _ in range(max(1, args.warmup // steps_per_call)):
        out = call(iterator)
    float(out["generator_loss"])
    calls = max(1, args.steps // steps_per_call)
    start = _clock()
    for _ in range(calls):
        out = call(iterator)
    float(out["generator_loss"])  # wait for the last step
    return _rate(calls * steps_per_call * args.batch_size, start, _clock())


def variants(images, args, device: str, default) -> list[tuple[str, str, object]]:
    """``[(name, group, fn)]``; group is ``"reference"``, ``"kit"`` or ``"diagnostic"``."""
    ref, kit = "reference", "kit"
    v = [
        ("reference: train_step + fit", ref, lambda: time_reference(images, args)),
        ("reference: fit, steps_per_execution=8", ref, lambda: time_reference(images, args, steps_per_execution=8)),
        ("reference: train_step in a tf.function loop", ref, lambda: time_reference_loop(images, args)),
        (f"kit default ({describe(default)})", kit,
         lambda: time_kit(images, args, steps_per_call=default.steps_per_call, jit_compile=default.jit_compile,
                          precision=default.mixed_precision)),
        ("kit float32", kit, lambda: time_kit(images, args)),
        ("kit float32, no EMA", kit, lambda: time_kit(images, args, ema_decay=0.0)),
        ("kit float32, steps_per_call=8", kit, lambda: time_kit(images, args, steps_per_call=8)),
    ]
    low = "float16" if device == "gpu" else "bfloat16"
    if default.mixed_precision != low or default.jit_compile:
        v.append((f"kit mixed {low}", kit, lambda: time_kit(images, args, precision=low)))
    if device == "gpu" or args.xla:
        v += [
            ("reference: fit, XLA", ref, lambda: time_reference(images, args, jit_compile=True)),
            ("reference: fit, XLA, steps_per_execution=8", ref,
             lambda: time_reference(images, args, steps_per_execution=8, jit_compile=True)),
            ("kit float32, XLA", kit, lambda: time_kit(images, args, jit_compile=True)),
            (f"kit mixed {low}, XLA", kit, lambda: time_kit(images, args, jit_compile=True, precision=low)),
            (f"kit mixed {low}, XLA, steps_per_call=8", kit,
             lambda: time_kit(images, args, steps_per_call=8, jit_compile=True, precision=low)),
        ]
    if args.diagnostics:
        v.append(("reference fit, 2nd fit() call (old method)", "diagnostic",
                  lambda: time_reference_two_fits(images, args)))
    if args.only:  # each entry: an exact variant name, else a substring of names
        names = {x[0].lower() for x in v}
        wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
        v = [x for x in v if any(x[0].lower() == w if w in names else w in x[0].lower() for w in wanted)]
    return v


def describe(s) -> str:
    prec = "float32" if s.mixed_precision == "off" else f"mixed {s.mixed_precision}"
    return f"{prec}, XLA {'on' if s.jit_compile else 'off'}, steps_per_call={s.steps_per_call}"


def summarize(runs: dict[str, list[float]], groups: dict[str, str]) -> dict:
    """Per-variant median, spread and ratio to the fastest reference of the same round.

    runs: variant -> images/s per round (same length for all). Returns
    ``{"fastest_reference": [per round], "variants": {name: {...}}}``.
    """
    refs = [n for n in runs if groups[n] == "reference"]
    rounds = len(next(iter(runs.values())))
    fastest = [max(runs[n][r] for n in refs) for r in range(rounds)] if refs else [float("nan")] * rounds
    out = {"fastest_reference": fastest, "variants": {}}
    for name, values in runs.items():
        med = statistics.median(values)
        ratios = [v / f for v, f in zip(values, fastest)]
        out["variants"][name] = {
            "group": groups[name], "images_per_s": values, "median": med,
            "spread_pct": 100.0 * (max(values) - min(values)) / med if med else float("nan"),
            "ratio_to_fastest_reference": ratios, "median_ratio": statistics.median(ratios),
            "fastest_in_rounds": sum(1 for v, f in zip(values, fastest) if v == f),
        }
    return out


def markdown_table(summary: dict) -> str:
    """The summary as a Markdown table (one row per variant)."""
    lines = ["| variant | median images/s | spread over rounds | × fastest reference (per round) |",
             "|---|---|---|---|"]
    for name, s in summary["variants"].items():
        per = ", ".join(f"{x:.2f}" for x in s["ratio_to_fastest_reference"])
        lines.append(f"| {name} | {s['median']:.0f} | {s['spread_pct']:.0f} % | **{s['median_ratio']:.2f}×** ({per}) |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100, help="timed steps per variant and round")
    p.add_argument("--warmup", type=int, default=16, help="untimed steps first (tracing)")
    p.add_argument("--rounds", type=int, default=3, help="rounds; each runs every variant once, in a rotated order")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--xla", action="store_true", help="also time XLA variants on CPU (always on a GPU)")
    p.add_argument("--diagnostics", action="store_true",
                   help="also time the old two-fit() reference measurement (see docs/training.md)")
    p.add_argument("--only", default="",
                   help="comma-separated variant names (exact) or substrings of names to keep, e.g. 'reference,kit default'")
    p.add_argument("--json", default="", help="write the measurements and summary to this JSON file")
    args = p.parse_args(argv)

    from medganbench.data import load_dataset
    from medganbench.devices import resolve
    from medganbench.runtime import configure_tensorflow

    configure_tensorflow()
    import tensorflow as tf

    images = load_dataset("pneumoniamnist", size=args.size).images
    default = resolve()
    device = default.device
    name = tf.config.list_logical_devices(device.upper())[0].name
    gpu_name = ""
    if device == "gpu":
        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        gpu_name = details.get("device_name", "")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"device: {device} ({name}{', ' + gpu_name if gpu_name else ''}); batch {args.batch_size}, {args.size}px, "
          f"{args.steps} timed steps after {args.warmup} warm-up steps, {args.rounds} rounds; "
          f"load average at start {load:.1f} on {os.cpu_count()} CPUs")
    print(f"kit default resolves to: {describe(default)} ({default.reason})")
    vs = variants(images, args, device, default)
    groups = {n: g for n, g, _ in vs}
    runs: dict[str, list[float]] = {n: [] for n, _, _ in vs}
    cores_used: dict[str, list[float]] = {n: [] for n, _, _ in vs}
    for r in range(args.rounds):
        order = vs[r % len(vs):] + vs[:r % len(vs)]
        for vname, _, fn in order:
            ips, cores = fn()
            runs[vname].append(ips)
            cores_used[vname].append(cores)
            print(f"round {r + 1}: {vname:50s} {ips:9.1f} images/s, {cores:4.2f} CPU cores busy", flush=True)
    summary = summarize(runs, groups)
    print(f"\nfastest reference per round: {', '.join(f'{x:.0f}' for x in summary['fastest_reference'])} images/s")
    print(markdown_table(summary))
    target = TARGETS[device]
    verdict = ""
    kit_default = next((n for n in runs if n.startswith("kit default")), None)
    if kit_default and any(g == "reference" for g in groups.values()):
        ratio = summary["variants"][kit_default]["median_ratio"]
        verdict = (f"kit default = {ratio:.2f}x the fastest reference; target {target}x on {device.upper()}: "
                   + ("met" if ratio >= target else f"MISSED by {target - ratio:.2f}x "
                      f"(needs {target / ratio:.2f}x more speed; see docs/training.md, Speed)"))
        print("\n" + verdict)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"device": device, "device_name": gpu_name or name, "default": default.as_dict(),
                       "args": vars(args), "load_average_start": load,
                       "load_average_end": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                       "target": target, "verdict": verdict, "cpu_cores_busy": cores_used, **summary}, fh, indent=2)


if __name__ == "__main__":
    main()
