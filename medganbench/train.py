"""One Trainer for every model: compiled steps, EMA, grids, logs, atomic checkpoints, exact resume.

Typical use::

    from medganbench.train import TrainConfig, run_training
    run_dir = run_training(TrainConfig(model="dcgan", dataset="pneumoniamnist", steps=2000))

or ``medganbench train --model dcgan --dataset pneumoniamnist``. A run folder holds

- ``config.json`` (this TrainConfig), ``model.json`` (the model's config), ``run.json`` (shapes, classes,
  class counts, parameter counts, throughput),
- ``checkpoints/step_XXXXXX.npz`` (atomic; the last ``keep_checkpoints`` kept): weights, optimizer
  state, step, the model's RNG state and the EMA weights, so a resumed run continues exactly,
- ``log.csv`` (one row per logged step: losses, D(x), D(G(z)), gradient norms, images/s),
  TensorBoard events in ``tb/``, ``grids/step_XXXXXX.png`` (fixed noise), ``losses.png``,
- ``generator.keras`` (final generator; the EMA one when ``ema_decay > 0``).

The data order is a pure function of (seed, step): epoch ``e`` uses the permutation drawn from
``numpy.random.default_rng([seed, e])``; that is what makes resume exact without saving the input pipeline.
Notebook ``03_dcgan_medmnist.ipynb`` walks through a run, its grids, EMA and resuming.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import sys
import time
import zipfile
from pathlib import Path
from typing import Literal

import numpy as np

from medganbench.config import load_config, save_config
from medganbench.errors import ConfigError, MedGanBenchError
from medganbench.io import atomic_path, atomic_write_text

_CKPT = re.compile(r"^step_(\d{6,})\.npz$")


def _f(default, help_):
    return dataclasses.field(default=default, metadata={"help": help_})


@dataclasses.dataclass
class TrainConfig:
    """Everything about a training run except the model's own hyper-parameters (see ``model.json``)."""

    model: str = _f("dcgan", "model name (medganbench.registry.MODELS)")
    dataset: str = _f("pneumoniamnist", "data set name, or a path to a MedMNIST-layout .npz")
    size: int = _f(28, "image size in pixels (MedMNIST: 28, 64, 128, 224)")
    split: str = _f("train", "split to train on")
    steps: int = _f(2000, "total generator updates (the default is a few CPU minutes for DCGAN at 28 px)")
    batch_size: int = _f(64, "global batch size (split over replicas)")
    seed: int = _f(0, "seed of weights, noise and data order")
    out: str = _f("", "run folder (default: runs/<model>-<dataset>-seed<seed>)")
    resume: bool = _f(False, "continue from the last checkpoint in --out")
    overwrite: bool = _f(False, "delete an existing run folder instead of refusing")
    log_every: int = _f(50, "steps between log rows")
    sample_every: int = _f(500, "steps between sample grids (0 = only at the end)")
    checkpoint_every: int = _f(500, "steps between checkpoints (0 = only at the end)")
    keep_checkpoints: int = _f(3, "how many checkpoints to keep")
    ema_decay: float = _f(0.999, "EMA decay of the generator's weights (0 = no EMA)")
    grid_size: int = _f(64, "images per sample grid")
    steps_per_call: int = _f(1, "training steps per compiled call (cuts Python overhead)")
    jit_compile: bool | None = _f(None, "XLA-compile the step (default: on for GPUs, off on CPU where it is slower)")
    mixed_precision: Literal["auto", "off", "float16", "bfloat16"] = _f(
        "auto", "mixed precision: float16 (GPUs, with loss scaling) or bfloat16 (TPUs, CPUs with AMX/AVX512-BF16); "
        "auto = the measured per-device choice (medganbench.devices: bfloat16 on such CPUs, else off)")
    distribute: Literal["auto", "none", "mirrored", "tpu"] = _f(
        "auto", "tf.distribute strategy: auto = mirrored on several GPUs, else none")
    progress: bool = _f(True, "show a tqdm progress bar")

    def validate(self) -> None:
        for name in ("steps", "batch_size", "log_every", "keep_checkpoints", "steps_per_call", "grid_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1), got {self.ema_decay}")

    def run_dir(self) -> Path:
        if self.out:
            return Path(self.out)
        stem = Path(self.dataset).stem if self.dataset.endswith(".npz") else self.dataset
        return Path("runs") / f"{self.model}-{stem}-seed{self.seed}"


# --- strategy / devices --------------------------------------------------------------------

def make_strategy(name: str = "auto"):
    """``"auto" | "none" | "mirrored" | "tpu"`` -> a ``tf.distribute.Strategy``."""
    import tensorflow as tf

    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if name == "mirrored" or (name == "auto" and len(tf.config.list_logical_devices("GPU")) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def default_jit_compile() -> bool:
    """XLA on GPUs; off on CPU, where it measured slower than plain tf.function (medganbench.devices)."""
    from medganbench.devices import resolve

    return resolve("off").jit_compile


# --- data --------------------------------------------------------------------------------

def dataset_arrays(dataset) -> dict[str, np.ndarray]:
    """A ``Dataset`` (images, labels) or a dict of equal-length arrays -> dict of numpy arrays."""
    if isinstance(dataset, dict):
        arrays = {k: np.asarray(v) for k, v in dataset.items()}
    else:
        arrays = {"images": np.asarray(dataset.images), "labels": np.asarray(dataset.labels)}
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise MedGanBenchError(f"training arrays differ in length: {lengths}")
    for k, v in arrays.items():
        if v.dtype == np.uint8 and v.ndim == 3:
            arrays[k] = v[..., None]
    return arrays


def batch_indices(step: int, n: int, batch_size: int, seed: int, _cache: dict | None = None) -> np.ndarray:
    """Indices of the examples in batch ``step``: epoch-wise permutations seeded by ``(seed, epoch)``."""
    per_epoch = n // batch_size
    epoch, k = divmod(step, per_epoch)
    if _cache is not None and _cache.get("epoch") == epoch:
        perm = _cache["perm"]
    else:
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        if _cache is not None:
            _cache.update(epoch=epoch, perm=perm)
    return perm[k * batch_size:(k + 1) * batch_size]


def make_input_pipeline(arrays: dict[str, np.ndarray], batch_size: int, seed: int, start_step: int = 0):
    """``tf.data`` of training batches from ``start_step`` on: uint8 arrays become ``float32 [-1, 1]``,
    integer arrays (labels) ``int32 (B,)``. Deterministic: batch ``s`` is the same whenever it is built."""
    import tensorflow as tf

    n = len(next(iter(arrays.values())))
    if n < batch_size:
        raise ConfigError(f"batch_size {batch_size} is larger than the training set ({n} examples)")
    uint8 = {k for k, v in arrays.items() if v.dtype == np.uint8}
    arrays = {k: (v if k in uint8 else v.reshape(n, -1)[:, 0].astype(np.int32)) for k, v in arrays.items()}

    def gen():
        cache: dict = {}
        step = start_step
        while True:
            idx = batch_indices(step, n, batch_size, seed, cache)
            yield {k: v[idx] for k, v in arrays.items()}
            step += 1

    sig = {k: tf.TensorSpec((batch_size,) + v.shape[1:], tf.uint8 if k in uint8 else tf.int32)
           for k, v in arrays.items()}
    ds = tf.data.Dataset.from_generator(gen, output_signature=sig)
    ds = ds.map(lambda b: {k: (tf.cast(v, tf.float32) / 127.5 - 1.0 if k in uint8 else v) for k, v in b.items()})
    return ds.prefetch(4)


# --- checkpoints ---------------------------------------------------------------------------

def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """``[(step, path)]`` of complete checkpoints, oldest first (temporary files are ignored)."""
    folder = Path(run_dir) / "checkpoints"
    found = []
    if folder.is_dir():
        for p in folder.iterdir():
            m = _CKPT.match(p.name)
            if m:
                found.append((int(m.group(1)), p))
    return sorted(found)


class Trainer:
    """Trains a :class:`~medganbench.models.base.GANModel` on in-memory arrays, writing ``run_dir``.

    model: built inside ``strategy.scope()`` when a strategy is used. dataset: a ``Dataset`` or a dict of
    equal-length numpy arrays (uint8 images ``(N,H,W,C)``, integer labels). config: :class:`TrainConfig`.
    """

    def __init__(self, model, dataset, config: TrainConfig, run_dir: str | Path, strategy=None):
        import tensorflow as tf

        config.validate()
        self.model = model
        self.config = config
        self.run_dir = Path(run_dir)
        self.arrays = dataset_arrays(dataset)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.jit = default_jit_compile() if config.jit_compile is None else bool(config.jit_compile)
        self.interrupted = False
        self.images_per_second = float("nan")
        with self.strategy.scope():
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.ema = {}
            if config.ema_decay > 0:
                import keras

                for name in model.ema_networks:
                    net = model.networks[name]
                    copy = keras.models.clone_model(net)
                    copy.set_weights(net.get_weights())
                    self.ema[name] = copy
        self._call = None
        self._grid_inputs = model.grid_inputs(config.grid_size, config.seed)

    # --- the compiled step ---------------------------------------------------------------
    def _ema_update(self):
        import tensorflow as tf

        step = tf.cast(self.step, tf.float32)
        decay = tf.minimum(self.config.ema_decay, (1.0 + step) / (10.0 + step))
        for name, copy in self.ema.items():
            for e, w in zip(copy.weights, self.model.networks[name].weights):
                e.assign(decay * e + (1.0 - decay) * tf.cast(w, e.dtype))

    def _build_call(self):
        import tensorflow as tf

        strategy, k = self.strategy, self.config.steps_per_call
        replica_step = tf.function(self.model.train_step, jit_compile=True) if self.jit else self.model.train_step

        def one(iterator):
            per_replica = strategy.run(replica_step, (next(iterator),))
            out = {key: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                   for key, v in per_replica.items()}
            self.step.assign_add(1)
            if self.ema:
                self._ema_update()
            return out

        @tf.function
        def call(iterator):
            out = one(iterator)
            for _ in tf.range(k - 1):
                out = one(iterator)
            return out

        return call

    # --- artefacts -----------------------------------------------------------------------
    def sample_networks(self) -> dict:
        """The networks grids/samples come from: the EMA copies where kept."""
        return {**self.model.networks, **self.ema}

    def save_grid(self, step: int) -> Path:
        from medganbench.data.pipeline import to_uint8
        from medganbench.grids import save_grid

        images = self.model.grid_images(self._grid_inputs, self.sample_networks())
        return save_grid(self.run_dir / "grids" / f"step_{step:06d}.png", to_uint8(images))

    def _variables(self) -> dict[str, list]:
        groups = {f"net/{n}": net.weights for n, net in self.model.networks.items()}
        groups.update({f"opt/{n}": opt.variables for n, opt in self.model.optimizers.items()})
        groups.update({f"ema/{n}": net.weights for n, net in self.ema.items()})
        groups["rng"] = [self.model.rng.state]
        groups["step"] = [self.step]
        return groups

    def save_checkpoint(self) -> Path:
        """Write ``checkpoints/step_XXXXXX.npz`` atomically, then drop all but the last k."""
        step = int(self.step.numpy())
        arrays = {}
        for group, variables in self._variables().items():
            for i, v in enumerate(variables):
                arrays[f"{group}/{i:04d}"] = np.asarray(v.numpy())
        path = self.run_dir / "checkpoints" / f"step_{step:06d}.npz"
        with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        for _, old in list_checkpoints(self.run_dir)[:-self.config.keep_checkpoints]:
            old.unlink(missing_ok=True)
        return path

    def restore_checkpoint(self, path: str | Path) -> int:
        """Load a checkpoint into the model, optimizers, EMA, RNG and step; returns the step."""
        path = Path(path)
        with np.load(path) as npz:
            data = {k: npz[k] for k in npz.files}
        for group, variables in self._variables().items():
            keys = sorted(k for k in data if k.rsplit("/", 1)[0] == group)
            if len(keys) != len(variables):
                raise MedGanBenchError(f"{path}: {group} holds {len(keys)} arrays, the model has {len(variables)}; "
                                       f"the checkpoint belongs to a different model/config")
            for key, v in zip(keys, variables):
                if tuple(data[key].shape) != tuple(v.shape):
                    raise MedGanBenchError(f"{path}: {key} has shape {data[key].shape}, expected {tuple(v.shape)}")
                v.assign(data[key])
        return int(self.step.numpy())

    def restore_latest(self) -> int | None:
        """Restore the newest readable checkpoint (a damaged one is reported and skipped)."""
        for _step, path in reversed(list_checkpoints(self.run_dir)):
            try:
                return self.restore_checkpoint(path)
            except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
                print(f"medganbench: skipping unreadable checkpoint {path}: {exc}", file=sys.stderr)
        return None

    def _open_log(self, start_step: int):
        path = self.run_dir / "log.csv"
        if path.exists():
            with open(path, newline="") as fh:
                rows = list(csv.reader(fh))
            if rows:
                kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= start_step]
                buf = io.StringIO()
                csv.writer(buf).writerows(kept)
                atomic_write_text(path, buf.getvalue())
        return path

    def _write_row(self, path: Path, row: dict) -> None:
        new = not path.exists() or path.stat().st_size == 0
        if not new:
            with open(path, newline="") as fh:
                header = next(csv.reader(fh))
        else:
            header = ["step"] + sorted(k for k in row if k != "step")
        with open(path, "a", newline="") as fh:
            w = csv.writer(fh)
            if new:
                w.writerow(header)
            w.writerow([row.get(k, "") for k in header])
            fh.flush()

    # --- the loop ------------------------------------------------------------------------
    def fit(self) -> Trainer:
        """Train to ``config.steps`` (resuming if a checkpoint was restored); Ctrl-C saves and returns."""
        import tensorflow as tf

        cfg = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        start = int(self.step.numpy())
        log_path = self._open_log(start)
        if start >= cfg.steps:
            return self
        pipeline = make_input_pipeline(self.arrays, cfg.batch_size, cfg.seed, start)
        iterator = iter(self.strategy.experimental_distribute_dataset(pipeline))
        if self._call is None:
            self._call = self._build_call()
        writer = tf.summary.create_file_writer(str(self.run_dir / "tb"))
        bar = None
        if cfg.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.steps, initial=start, desc=f"train {cfg.model}", unit="step",
                       dynamic_ncols=True, leave=True)
        if start == 0:
            self.save_grid(0)
        step, mark_step, mark_time = start, start, time.perf_counter()
        first_call = True
        try:
            while step < cfg.steps:
                k = min(cfg.steps_per_call, cfg.steps - step)
                if k != cfg.steps_per_call:  # tail shorter than one call: one step at a time
                    self.config = cfg = dataclasses.replace(cfg, steps_per_call=1)
                    self._call = self._build_call()
                out = self._call(iterator)
                prev, step = step, step + k
                if first_call:  # exclude tracing from the throughput figure
                    first_call = False
                    _ = {key: float(v) for key, v in out.items()}
                    mark_step, mark_time = step, time.perf_counter()
                if bar is not None:
                    bar.update(k)
                if step // cfg.log_every > prev // cfg.log_every or step == cfg.steps:
                    row = {key: float(v) for key, v in out.items()}
                    now = time.perf_counter()
                    if step > mark_step:
                        self.images_per_second = (step - mark_step) * cfg.batch_size / max(now - mark_time, 1e-9)
                        mark_step, mark_time = step, now
                    row["images_per_sec"] = self.images_per_second
                    row["step"] = step
                    self._write_row(log_path, row)
                    with writer.as_default(step=step):
                        for key, v in row.items():
                            if key != "step":
                                _tb_scalar(key, v, step)
                    if bar is not None:
                        bar.set_postfix({"img/s": f"{self.images_per_second:.0f}",
                                         "D": f"{row.get('discriminator_loss', float('nan')):.3f}",
                                         "G": f"{row.get('generator_loss', float('nan')):.3f}"})
                if cfg.sample_every and step // cfg.sample_every > prev // cfg.sample_every:
                    self.save_grid(step)
                if cfg.checkpoint_every and step // cfg.checkpoint_every > prev // cfg.checkpoint_every:
                    self.save_checkpoint()
        except KeyboardInterrupt:
            self.interrupted = True
            path = self.save_checkpoint()
            print(f"\nmedganbench: interrupted at step {int(self.step.numpy())}; saved {path}. "
                  f"Continue with --resume.", file=sys.stderr)
        finally:
            if bar is not None:
                bar.close()
            writer.close()
        if not self.interrupted:
            self.finish()
        return self

    def finish(self) -> None:
        """End-of-run artefacts: last checkpoint, grid, loss plot, final generator and run.json."""
        import matplotlib.pyplot as plt

        from medganbench.grids import plot_log

        step = int(self.step.numpy())
        if not list_checkpoints(self.run_dir) or list_checkpoints(self.run_dir)[-1][0] != step:
            self.save_checkpoint()
        if not (self.run_dir / "grids" / f"step_{step:06d}.png").exists():
            self.save_grid(step)
        if (self.run_dir / "log.csv").exists():
            plt.close(plot_log(self.run_dir / "log.csv", self.run_dir / "losses.png"))
        nets = self.sample_networks()
        if "generator" in nets:
            with atomic_path(self.run_dir / "generator.keras", suffix=".keras") as tmp:
                nets["generator"].save(tmp)
        self.write_run_info()

    def write_run_info(self) -> Path:
        info = {
            "model": self.config.model,
            "image_shape": list(self.model.image_shape),
            "num_classes": self.model.num_classes,
            "conditional": bool(getattr(self.model, "conditional", False)),
            "latent_dim": getattr(self.model.config, "latent_dim", None),
            "ema": bool(self.ema),
            "step": int(self.step.numpy()),
            "parameter_counts": self.model.parameter_counts(),
            "images_per_sec": None if np.isnan(self.images_per_second) else round(self.images_per_second, 1),
            "jit_compile": self.jit,
            "replicas": int(self.strategy.num_replicas_in_sync),
        }
        if "labels" in self.arrays:
            labels = self.arrays["labels"].reshape(len(self.arrays["labels"]), -1)[:, 0]
            info["class_counts"] = {str(int(c)): int(n) for c, n in zip(*np.unique(labels, return_counts=True))}
        path = self.run_dir / "run.json"
        atomic_write_text(path, json.dumps(info, indent=2))
        return path


def _tb_scalar(tag: str, value: float, step: int) -> None:
    """A TensorBoard scalar written with TF core only (the ``tensorboard`` package is optional)."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    meta = summary_pb2.SummaryMetadata()
    meta.plugin_data.plugin_name = "scalars"
    tf.summary.write(tag, tf.constant(value, tf.float32), step=step, metadata=meta)


def _prepare_run_dir(config: TrainConfig) -> Path:
    run_dir = config.run_dir()
    if config.resume:
        if not (run_dir / "config.json").exists():
            raise MedGanBenchError(f"Nothing to resume in {run_dir} (no config.json); drop --resume to start it.")
        return run_dir
    if run_dir.exists() and any(run_dir.iterdir()):
        if not config.overwrite:
            raise MedGanBenchError(f"Run folder {run_dir} already exists; pass --resume to continue it, "
                                   f"--overwrite to replace it, or choose another --out.")
        import shutil

        shutil.rmtree(run_dir)
    return run_dir


def run_training(config: TrainConfig, model_overrides: dict | None = None, dataset=None) -> Path:
    """Train ``config.model`` on ``config.dataset`` and return the run folder.

    model_overrides: model config keys (e.g. ``{"loss": "hinge"}``); on resume they must match ``model.json``.
    dataset: optional in-memory ``Dataset`` or dict of arrays used instead of loading ``config.dataset``.
    """
    import keras

    from medganbench.config import from_dict
    from medganbench.data import load_dataset
    from medganbench.models import make_config, model_class
    from medganbench.runtime import configure_tensorflow

    config.validate()
    run_dir = _prepare_run_dir(config)
    overrides = dict(model_overrides or {})
    if config.resume:
        saved = load_config(TrainConfig, run_dir / "config.json")
        fixed = ("model", "dataset", "size", "split", "batch_size", "seed")
        changed = [f for f in fixed if getattr(saved, f) != getattr(config, f)]
        if changed:
            raise ConfigError(f"--resume with different {', '.join(changed)} than {run_dir}/config.json "
                              f"({', '.join(f'{f}={getattr(saved, f)!r}' for f in changed)})")
        cls = model_class(config.model)
        saved_model = json.loads((run_dir / "model.json").read_text())
        saved_model.pop("type", None)
        diff = {k: v for k, v in overrides.items() if k in saved_model and saved_model[k] != v}
        if diff:
            raise ConfigError(f"--resume with model settings {diff} that differ from {run_dir}/model.json")
        model_config = from_dict(cls.config_class, {**saved_model, **overrides})
    else:
        overrides.setdefault("seed", config.seed)
        model_config = make_config(config.model, **overrides)
    if dataset is None:
        dataset = load_dataset(config.dataset, split=config.split, size=config.size)
    arrays = dataset_arrays(dataset)
    configure_tensorflow()
    strategy = make_strategy(config.distribute)
    image_shape = arrays["images"].shape[1:] if "images" in arrays else arrays["targets"].shape[1:]
    num_classes = 0
    if "labels" in arrays:
        card = getattr(dataset, "card", {}) or {}
        num_classes = int(card.get("num_classes") or int(arrays["labels"].max()) + 1)
    from medganbench.devices import resolve

    precision = resolve(config.mixed_precision, config.jit_compile, model=config.model).mixed_precision
    previous_policy = keras.mixed_precision.global_policy()
    if precision != "off":
        keras.mixed_precision.set_global_policy(f"mixed_{precision}")
    try:
        with strategy.scope():
            model = model_class(config.model)(tuple(image_shape), num_classes, model_config)
            trainer = Trainer(model, arrays, config, run_dir, strategy)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.json")
    save_config(model_config, run_dir / "model.json")
    if config.resume:
        restored = trainer.restore_latest()
        if restored is None:
            print(f"medganbench: no checkpoint in {run_dir}; starting from step 0", file=sys.stderr)
    trainer.fit()
    run_training.last_trainer = trainer  # notebooks inspect the trainer of the last run
    return run_dir
