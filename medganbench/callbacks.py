"""Callbacks: everything the Trainer does besides stepping (logs, grids, checkpoints, EMA, progress).

The :class:`~medganbench.train.Trainer` loop only runs the compiled step and counts steps; at fixed
points it calls the same hooks on every callback in ``trainer.callbacks``, in list order (in the
spirit of Keras callbacks and MONAI handlers). Write your own by subclassing :class:`Callback` and
overriding the hooks you need::

    class PrintD(Callback):
        def on_step_end(self, trainer, step, logs):
            if logs:                               # a logged step (every config.log_every steps)
                print(step, logs["discriminator_loss"])

    run_training(config, callbacks=[PrintD()])     # or Trainer(..., callbacks=[PrintD()])

Hooks (all optional; ``trainer`` gives ``model``, ``config``, ``run`` (a RunFolder), ``step``):

- ``on_train_begin(trainer)``: before the first step of ``fit`` (``trainer.start_step`` is where it starts).
- ``on_step_end(trainer, step, logs)``: after each compiled call, which may run several steps
  (``trainer.previous_step`` .. ``step``; use ``crossed(trainer, every)`` for "every N steps").
  ``logs`` is ``{}`` except on logged steps, where it holds Python floats: the model's outputs
  (losses, D(x), gradient norms, ...), ``images_per_sec`` and ``step``. The raw tensors of the last
  call are ``trainer.outputs``.
- ``on_checkpoint(trainer, step, path)``: after a checkpoint was written.
- ``on_train_end(trainer)``: always, also after Ctrl-C (``trainer.interrupted``) or an error
  (``trainer.error``); ``trainer.finished`` says whether the run reached ``config.steps``.

Callbacks that keep state inside the compiled step (like :class:`EMA`) also use ``attach(trainer)``
(called once when the Trainer is built, inside its strategy scope: create variables there),
``in_step(trainer)`` (traced INTO the compiled step after the step counter moved) and
``state()`` (``{group: [variables]}`` saved in every checkpoint and restored on resume).
"""

from __future__ import annotations

import csv
import io
import sys

from medganbench.io import atomic_write_text


class Callback:
    """Base class: every hook does nothing. See the module docstring for when each is called."""

    def attach(self, trainer) -> None:
        pass

    def state(self) -> dict[str, list]:
        return {}

    in_step = None  # a method ``in_step(self, trainer)`` traced into the compiled step, when defined

    def on_train_begin(self, trainer) -> None:
        pass

    def on_step_end(self, trainer, step: int, logs: dict) -> None:
        pass

    def on_checkpoint(self, trainer, step: int, path) -> None:
        pass

    def on_train_end(self, trainer) -> None:
        pass


def crossed(trainer, every: int) -> bool:
    """True when the last compiled call passed a multiple of ``every`` (0 = never)."""
    return bool(every) and trainer.current_step // every > trainer.previous_step // every


class EMA(Callback):
    """Exponential moving average of ``model.ema_networks`` (e.g. the generator), updated in the step.

    decay ramps up as ``min(decay, (1 + t) / (10 + t))`` so early averages are not dominated by the
    random start. Grids, ``generator.keras`` and samples use the averaged copies.
    """

    def __init__(self, decay: float):
        self.decay = float(decay)
        self.networks: dict = {}

    def attach(self, trainer) -> None:
        import keras

        for name in trainer.model.ema_networks:
            net = trainer.model.networks[name]
            copy = keras.models.clone_model(net)
            copy.set_weights(net.get_weights())
            self.networks[name] = copy

    def state(self) -> dict[str, list]:
        return {f"ema/{n}": net.weights for n, net in self.networks.items()}

    def in_step(self, trainer) -> None:
        import tensorflow as tf

        step = tf.cast(trainer.step, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + step) / (10.0 + step))
        for name, copy in self.networks.items():
            for e, w in zip(copy.weights, trainer.model.networks[name].weights):
                e.assign(decay * e + (1.0 - decay) * tf.cast(w, e.dtype))


class ProgressBar(Callback):
    """A tqdm bar with images/s and the latest D and G losses."""

    def __init__(self):
        self.bar = None

    def on_train_begin(self, trainer) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.config.steps, initial=trainer.start_step, desc=f"train {trainer.config.model}",
                        unit="step", dynamic_ncols=True, leave=True)

    def on_step_end(self, trainer, step: int, logs: dict) -> None:
        self.bar.update(step - trainer.previous_step)
        if logs:
            self.bar.set_postfix({"img/s": f"{logs['images_per_sec']:.0f}",
                                  "D": f"{logs.get('discriminator_loss', float('nan')):.3f}",
                                  "G": f"{logs.get('generator_loss', float('nan')):.3f}"})

    def on_train_end(self, trainer) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class CSVLogger(Callback):
    """``log.csv``: one row per logged step. On resume, rows past the restored step are dropped first.

    The header is fixed by the first row of the run (read once from an existing file on resume).
    """

    def __init__(self):
        self.header: list[str] | None = None
        self.fh = None
        self.writer = None

    def on_train_begin(self, trainer) -> None:
        path = trainer.run.log_file
        self.header = None
        if path.exists():
            with open(path, newline="") as fh:
                rows = list(csv.reader(fh))
            if rows:
                self.header = rows[0]
                kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= trainer.start_step]
                buf = io.StringIO()
                csv.writer(buf).writerows(kept)
                atomic_write_text(path, buf.getvalue())
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(path, "a", newline="")
        self.writer = csv.writer(self.fh)

    def on_step_end(self, trainer, step: int, logs: dict) -> None:
        if not logs:
            return
        if self.header is None:
            self.header = ["step"] + sorted(k for k in logs if k != "step")
            self.writer.writerow(self.header)
        self.writer.writerow([logs.get(k, "") for k in self.header])
        self.fh.flush()  # a crash keeps every row written so far

    def on_train_end(self, trainer) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = self.writer = None


class TensorBoard(Callback):
    """Scalars of every logged step in ``tb/`` (written with TF core; the tensorboard package is optional)."""

    def __init__(self):
        self.writer = None

    def on_train_begin(self, trainer) -> None:
        import tensorflow as tf

        self.writer = tf.summary.create_file_writer(str(trainer.run.tensorboard_dir))

    def on_step_end(self, trainer, step: int, logs: dict) -> None:
        if not logs:
            return
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        meta = summary_pb2.SummaryMetadata()
        meta.plugin_data.plugin_name = "scalars"
        with self.writer.as_default(step=step):
            for key, v in logs.items():
                if key != "step":
                    tf.summary.write(key, tf.constant(v, tf.float32), step=step, metadata=meta)

    def on_train_end(self, trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class SampleGrids(Callback):
    """``grids/step_XXXXXX.png`` of ``model.grid_images(inputs)`` at step 0, every ``every`` steps and the end.

    inputs: what ``model.grid_inputs(n, seed, ...)`` returned (fixed noise, or fixed validation images
    for translation models), so every grid of a run shows the same cases.
    """

    def __init__(self, inputs: dict, every: int = 0):
        self.inputs = inputs
        self.every = int(every)

    def save(self, trainer, step: int):
        from medganbench.imageconv import to_uint8
        from medganbench.viz import save_grid_png

        images = trainer.model.grid_images(self.inputs, trainer.sample_networks())
        return save_grid_png(trainer.run.grid_file(step), to_uint8(images))

    def on_train_begin(self, trainer) -> None:
        if trainer.start_step == 0:
            self.save(trainer, 0)

    def on_step_end(self, trainer, step: int, logs: dict) -> None:
        if crossed(trainer, self.every):
            self.save(trainer, step)

    def on_train_end(self, trainer) -> None:
        step = trainer.current_step
        if trainer.finished and not trainer.run.grid_file(step).exists():
            self.save(trainer, step)


class Checkpoints(Callback):
    """Atomic checkpoints every ``every`` steps (0 = only at the end), on Ctrl-C, and at the end; keeps ``keep``."""

    def __init__(self, every: int = 0, keep: int = 3):
        self.every = int(every)
        self.keep = int(keep)

    def on_step_end(self, trainer, step: int, logs: dict) -> None:
        if crossed(trainer, self.every):
            trainer.save_checkpoint(keep=self.keep)

    def on_train_end(self, trainer) -> None:
        if trainer.interrupted:
            path = trainer.save_checkpoint(keep=self.keep)
            print(f"\nmedganbench: interrupted at step {trainer.current_step}; saved {path}. "
                  f"Continue with --resume.", file=sys.stderr)
        elif trainer.finished:
            latest = trainer.run.latest_checkpoint()
            if latest is None or latest[0] != trainer.current_step:
                trainer.save_checkpoint(keep=self.keep)


class LossPlot(Callback):
    """``losses.png`` from ``log.csv`` when the run finishes."""

    def on_train_end(self, trainer) -> None:
        if trainer.finished and trainer.run.log_file.exists():
            import matplotlib.pyplot as plt

            from medganbench.viz import plot_log

            plt.close(plot_log(trainer.run.log_file, trainer.run.losses_plot))


class TrainingDiagnostics(Callback):
    """Live mode-collapse and oscillation indicators in ``log.csv``; verdicts in ``run.json["diagnostics"]``.

    On every logged step of a noise -> image model: ``diversity_ratio`` (mean pairwise pixel distance of the
    generator's images for a fixed noise batch over that of a fixed real batch; → 0 under mode collapse) and
    ``oscillation_index`` (of the D loss logged so far, :func:`medganbench.diagnostics.oscillation_index`).
    At the end, :func:`medganbench.diagnostics.diagnose` of the whole log goes to ``trainer.diagnostics``,
    which the Trainer writes into ``run.json``. Must come before :class:`CSVLogger` (it adds columns).
    Models without ``sample_noise`` (translation) are skipped. Cost: one forward pass of ``n`` images per log row.
    """

    def __init__(self, n: int = 64, seed: int = 0):
        self.n, self.seed = n, seed
        self.active = False
        self.losses: list[float] = []

    def on_train_begin(self, trainer) -> None:
        import numpy as np

        from medganbench.imageconv import model_input

        model = trainer.model
        images = trainer.arrays.get("images")
        self.active = hasattr(model, "sample_noise") and images is not None and len(images) >= 2
        if not self.active:
            return
        n = min(self.n, len(images))
        pick = np.random.default_rng([self.seed, 7]).permutation(len(images))[:n]
        self.real = model_input(images[pick])  # the pipeline's range: uint8 converted, float taken as it is
        self.inputs = model.grid_inputs(n, self.seed + 7)
        self.losses = []
        if trainer.run.log_file.exists():  # resume: the loss series so far
            import csv

            with open(trainer.run.log_file, newline="") as fh:
                self.losses = [float(r["discriminator_loss"]) for r in csv.DictReader(fh)
                               if r.get("discriminator_loss") not in (None, "") and int(r["step"]) <= trainer.start_step]

    def on_step_end(self, trainer, step: int, logs: dict) -> None:
        if not (self.active and logs):
            return
        from medganbench.diagnostics import diversity_ratio, oscillation_index

        fake = trainer.model.grid_images(self.inputs, trainer.model.networks)  # the raw generator: live state
        logs["diversity_ratio"] = round(diversity_ratio(fake, self.real), 5)
        if "discriminator_loss" in logs:
            self.losses.append(float(logs["discriminator_loss"]))
            idx = oscillation_index(self.losses[-64:])
            logs["oscillation_index"] = idx if idx != idx else round(idx, 5)  # NaN while the series is too short

    def on_train_end(self, trainer) -> None:
        if not (self.active and trainer.finished and trainer.run.log_file.exists()):
            return
        import csv

        from medganbench.diagnostics import diagnose

        with open(trainer.run.log_file, newline="") as fh:
            rows = list(csv.DictReader(fh))
        probability = getattr(trainer.model.config, "loss", "") in ("minimax", "nonsaturating")
        trainer.diagnostics = diagnose(rows, probability_outputs=probability)


def default_callbacks(config, grid_inputs: dict) -> list[Callback]:
    """The callbacks every run gets from its :class:`~medganbench.train.TrainConfig`, in their order."""
    cbs: list[Callback] = []
    if config.ema_decay > 0:
        cbs.append(EMA(config.ema_decay))
    if config.progress:
        cbs.append(ProgressBar())
    # TrainingDiagnostics adds columns to the logged row, so it runs before the loggers.
    cbs += [TrainingDiagnostics(seed=config.seed), CSVLogger(), TensorBoard(), SampleGrids(grid_inputs, config.sample_every),
            Checkpoints(config.checkpoint_every, config.keep_checkpoints), LossPlot()]
    return cbs
