"""One Trainer for every model: a short loop around the compiled step, plus callbacks, exact resume.

Typical use::

    from medganbench.train import TrainConfig, run_training
    result = run_training(TrainConfig(model="dcgan", dataset="pneumoniamnist", steps=2000))
    result.run_dir, result.trainer, result.interrupted

or ``medganbench train --model dcgan --dataset pneumoniamnist``. The :class:`Trainer` loop only runs the
compiled step and counts steps; logs, TensorBoard, grids, checkpoints, EMA and the progress bar are
callbacks (:mod:`medganbench.callbacks`, where the hook interface is documented), so a notebook can add
its own. The run folder (:mod:`medganbench.runfolder`) holds

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

import dataclasses
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Literal

import numpy as np

from medganbench import checkpoint
from medganbench.checkpoint import list_checkpoints  # noqa: F401  (re-exported for callers of train)
from medganbench.data.pipeline import batch_indices, make_input_pipeline  # noqa: F401  (re-exported)
from medganbench.errors import ConfigError, MedGanBenchError
from medganbench.io import atomic_path
from medganbench.runfolder import RunFolder


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
    distribute: Literal["auto", "none", "mirrored", "tpu", "multiworker"] = _f(
        "auto", "tf.distribute strategy: auto = mirrored on several GPUs, else none; multiworker = several "
                "machines from TF_CONFIG (docs/training.md)")
    progress: bool = _f(True, "show a tqdm progress bar")

    def validate(self) -> None:
        for name in ("steps", "batch_size", "log_every", "keep_checkpoints", "steps_per_call", "grid_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        for name in ("checkpoint_every", "sample_every"):  # 0 means "only at the end"
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0 (0 = only at the end), "
                                  f"got {getattr(self, name)}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1), got {self.ema_decay}")

    def run_dir(self) -> Path:
        if self.out:
            return Path(self.out)
        stem = Path(self.dataset).stem if self.dataset.endswith(".npz") else self.dataset
        return Path("runs") / f"{self.model}-{stem}-seed{self.seed}"


# --- strategy / devices --------------------------------------------------------------------

def make_strategy(name: str = "auto"):
    """``"auto" | "none" | "mirrored" | "tpu" | "multiworker"`` -> a ``tf.distribute.Strategy``.

    multiworker: ``MultiWorkerMirroredStrategy`` with the cluster read from ``TF_CONFIG`` (every worker
    runs the same command; see docs/training.md). Create it before TensorFlow runs any operation.
    """
    import tensorflow as tf

    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if name == "mirrored" or (name == "auto" and len(tf.config.list_logical_devices("GPU")) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy) -> bool:
    """True on the worker that writes the run folder: the ``chief`` task, else worker 0, else a
    single-machine run."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and int(resolver.task_id) == 0 and not has_chief


def default_jit_compile() -> bool:
    """XLA on GPUs; off on CPU, where it measured slower than plain tf.function (medganbench.devices)."""
    from medganbench.devices import resolve

    return resolve("off").jit_compile


# --- data (the input pipeline itself lives in medganbench.data.pipeline) --------------------

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


class Trainer:
    """A short loop around one compiled training step; everything else is a callback.

    model: a :class:`~medganbench.models.base.GANModel`, built inside ``strategy.scope()`` when a strategy
    is used. dataset: a ``Dataset`` or a dict of equal-length numpy arrays (uint8 images ``(N,H,W,C)``,
    integer labels). config: :class:`TrainConfig`. run_dir: the run folder (path or ``RunFolder``).
    grid_inputs: fixed inputs of the sample grids (default ``model.grid_inputs(config.grid_size, config.seed)``;
    translation runs pass validation images). callbacks: extra :class:`~medganbench.callbacks.Callback`
    objects, run after the defaults that ``config`` asks for (EMA, progress bar, ``log.csv``, TensorBoard,
    grids, checkpoints, loss plot; see :func:`medganbench.callbacks.default_callbacks`).

    The hooks (``on_train_begin``, ``on_step_end(trainer, step, logs)``, ``on_checkpoint``,
    ``on_train_end``) are documented in :mod:`medganbench.callbacks`. ``fit()`` trains to
    ``config.steps`` from ``step`` (restore a checkpoint first to resume); Ctrl-C ends it with
    ``interrupted = True`` after the checkpoint callback saved the state.
    """

    def __init__(self, model, dataset, config: TrainConfig, run_dir, strategy=None, callbacks=(),
                 grid_inputs: dict | None = None):
        import tensorflow as tf

        from medganbench.callbacks import default_callbacks

        config.validate()
        self.model = model
        self.config = config
        self.run = run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir)
        self.run_dir = self.run.path
        self.arrays = dataset_arrays(dataset)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.jit = default_jit_compile() if config.jit_compile is None else bool(config.jit_compile)
        self.interrupted = False
        self.error: BaseException | None = None
        self.images_per_second = float("nan")
        self.start_step = self.previous_step = self.current_step = 0
        self.outputs: dict = {}
        if grid_inputs is None:
            grid_inputs = model.grid_inputs(config.grid_size, config.seed)
        self.callbacks = []
        with self.strategy.scope():
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        for cb in [*default_callbacks(config, grid_inputs), *callbacks]:
            self.add_callback(cb)
        self._call = None

    def add_callback(self, callback) -> None:
        """Append a callback (``attach`` runs now, inside the strategy scope). Add before ``fit``."""
        with self.strategy.scope():
            callback.attach(self)
        self.callbacks.append(callback)
        self._call = None  # an in-step callback changes the compiled step

    @property
    def ema(self) -> dict:
        """The EMA copies of the networks (``{}`` without an EMA callback)."""
        from medganbench.callbacks import EMA

        return {k: v for cb in self.callbacks if isinstance(cb, EMA) for k, v in cb.networks.items()}

    @property
    def finished(self) -> bool:
        return not self.interrupted and self.error is None and self.current_step >= self.config.steps

    # --- the compiled step ---------------------------------------------------------------
    def _build_call(self, steps_per_call: int):
        import tensorflow as tf

        strategy, k = self.strategy, steps_per_call
        replica_step = tf.function(self.model.train_step, jit_compile=True) if self.jit else self.model.train_step
        in_step = [cb for cb in self.callbacks if cb.in_step is not None]

        def one(iterator):
            per_replica = strategy.run(replica_step, (next(iterator),))
            out = {key: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                   for key, v in per_replica.items()}
            self.step.assign_add(1)
            for cb in in_step:
                cb.in_step(self)
            return out

        @tf.function
        def call(iterator):
            out = one(iterator)
            if k > 1:  # decided in Python: a one-step call needs no graph loop
                for _ in tf.range(k - 1):
                    out = one(iterator)
            return out

        return call

    # --- state ---------------------------------------------------------------------------
    def sample_networks(self) -> dict:
        """The networks grids/samples come from: the EMA copies where kept."""
        return {**self.model.networks, **self.ema}

    def state_groups(self) -> dict[str, list]:
        """Every variable a checkpoint holds, by group (see :mod:`medganbench.checkpoint`)."""
        groups = {f"net/{n}": net.weights for n, net in self.model.networks.items()}
        groups.update({f"opt/{n}": opt.variables for n, opt in self.model.optimizers.items()})
        for cb in self.callbacks:
            groups.update(cb.state())
        groups["rng"] = [self.model.rng.state]
        groups["step"] = [self.step]
        return groups

    def save_checkpoint(self, keep: int | None = None) -> Path:
        """Write ``checkpoints/step_XXXXXX.npz`` atomically, keep the newest ``keep``; tell the callbacks."""
        step = int(self.step.numpy())
        path = checkpoint.save(self.run.path, step, self.state_groups(),
                               keep=self.config.keep_checkpoints if keep is None else keep)
        for cb in self.callbacks:
            cb.on_checkpoint(self, step, path)
        return path

    def restore_checkpoint(self, path: str | Path) -> int:
        """Load a checkpoint into the model, optimizers, callbacks' state (EMA), RNG and step; returns the step."""
        checkpoint.restore(path, self.state_groups())
        return int(self.step.numpy())

    def restore_latest(self, run: RunFolder | None = None) -> int | None:
        """Restore the newest readable checkpoint of ``run`` (default: this Trainer's folder; a damaged one
        is reported and skipped); returns its step, or None when there is none."""
        path = checkpoint.restore_latest((run or self.run).path, self.state_groups())
        return None if path is None else int(self.step.numpy())

    def _distributed_input(self, start: int):
        import tensorflow as tf

        cfg = self.config
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            pipeline = make_input_pipeline(self.arrays, cfg.batch_size, cfg.seed, start)
            return self.strategy.experimental_distribute_dataset(pipeline)
        total = int(self.strategy.num_replicas_in_sync)
        if cfg.batch_size % total:
            raise ConfigError(f"batch_size {cfg.batch_size} must be a multiple of the {total} replicas")

        def per_worker(ctx):  # each worker builds the slices of every global batch its replicas train on
            local = total // ctx.num_input_pipelines
            return make_input_pipeline(self.arrays, cfg.batch_size, cfg.seed, start,
                                       replicas=(ctx.input_pipeline_id * local, local, total))

        return self.strategy.distribute_datasets_from_function(per_worker)

    # --- the loop ------------------------------------------------------------------------
    def fit(self) -> Trainer:
        """Train to ``config.steps`` (from the restored step, if any); Ctrl-C saves and returns."""
        cfg = self.config
        self.run.path.mkdir(parents=True, exist_ok=True)
        start = int(self.step.numpy())
        self.start_step = self.previous_step = self.current_step = start
        self.interrupted, self.error = False, None
        if start >= cfg.steps:
            # Killed after the final checkpoint but before generator.keras / run.json: finish it now, so that
            # `--resume` always ends in a finished run folder (and `sample` stops asking for it).
            missing_generator = "generator" in self.sample_networks() and not self.run.generator_file.is_file()
            if not self.run.is_finished() or missing_generator:
                self.finish()
            return self
        iterator = iter(self._distributed_input(start))
        if self._call is None:
            self._call = self._build_call(cfg.steps_per_call)
        call, call_k = self._call, cfg.steps_per_call
        step, mark_step, mark_time = start, start, time.perf_counter()
        first_call = True
        try:
            for cb in self.callbacks:
                cb.on_train_begin(self)
            while step < cfg.steps:
                k = min(call_k, cfg.steps - step)
                if k != call_k:  # tail shorter than one call: one step at a time
                    call, call_k, k = self._build_call(1), 1, 1
                out = call(iterator)
                self.previous_step, step = step, step + k
                self.current_step, self.outputs = step, out
                if first_call:  # exclude tracing from the throughput figure
                    first_call = False
                    _ = {key: float(v) for key, v in out.items()}
                    mark_step, mark_time = step, time.perf_counter()
                logs: dict = {}
                if step // cfg.log_every > self.previous_step // cfg.log_every or step == cfg.steps:
                    logs = {key: float(v) for key, v in out.items()}
                    now = time.perf_counter()
                    if step > mark_step:
                        self.images_per_second = (step - mark_step) * cfg.batch_size / max(now - mark_time, 1e-9)
                        mark_step, mark_time = step, now
                    logs["images_per_sec"] = self.images_per_second
                    logs["step"] = step
                for cb in self.callbacks:
                    cb.on_step_end(self, step, logs)
        except KeyboardInterrupt:
            self.interrupted = True
        except BaseException as exc:
            self.error = exc
        self.current_step = int(self.step.numpy())
        self._end_callbacks()
        if self.error is not None:
            raise self.error
        if self.finished:
            self.finish()
        return self

    def _end_callbacks(self) -> None:
        """``on_train_end`` on every callback even if one fails; the first failure is raised after."""
        first = None
        for cb in self.callbacks:
            try:
                cb.on_train_end(self)
            except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others closed
                first = first or exc
        if first is not None:
            raise first

    def finish(self) -> None:
        """What makes a run folder finished: the final generator and, last, ``run.json``."""
        nets = self.sample_networks()
        if "generator" in nets:
            with atomic_path(self.run.generator_file, suffix=".keras") as tmp:
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
        if getattr(self, "diagnostics", None):  # verdicts of the TrainingDiagnostics callback
            info["diagnostics"] = self.diagnostics
        return self.run.write_info(info)


@dataclasses.dataclass
class TrainResult:
    """What :func:`run_training` returns: the run folder, the Trainer (model, EMA, step) and whether
    Ctrl-C ended it early. Path-like: ``result / "log.csv"`` and ``Path(result)`` give the folder."""

    run: RunFolder
    trainer: Trainer
    interrupted: bool

    @property
    def run_dir(self) -> Path:
        return self.run.path

    @property
    def model(self):
        return self.trainer.model

    def __fspath__(self) -> str:
        return str(self.run.path)

    def __truediv__(self, other) -> Path:
        return self.run.path / other

    def __str__(self) -> str:
        return str(self.run.path)


def run_training(config: TrainConfig, model_overrides: dict | None = None, dataset=None,
                 callbacks=()) -> TrainResult:
    """Train ``config.model`` on ``config.dataset``; returns a :class:`TrainResult` (run folder, trainer,
    interrupted flag).

    model_overrides: model config keys (e.g. ``{"loss": "hinge"}``); on resume they must match ``model.json``.
    dataset: optional in-memory ``Dataset`` or dict of arrays used instead of loading ``config.dataset``.
    callbacks: extra :class:`~medganbench.callbacks.Callback` objects (after the default ones).

    Before anything is touched: the options are checked, the run folder must be writable, and the run
    takes the folder's lock (:mod:`medganbench.runlock`) for its whole life, so a second run on the same
    folder, or ``--overwrite`` of a live run, is refused with one line.
    """
    from medganbench.outdir import check_writable
    from medganbench.runlock import hold_run_lock

    config.validate()
    run_dir = config.run_dir()
    # A multi-worker strategy must exist before TensorFlow runs anything; only its chief owns the run folder,
    # so only the chief checks and locks it (a worker that took the lock first would lock the chief out, and
    # then wait for it in the collective forever).
    strategy = None
    if config.distribute == "multiworker":
        from medganbench.runtime import configure_tensorflow

        configure_tensorflow()
        strategy = make_strategy("multiworker")
        if not is_chief(strategy):
            return _run_training_locked(config, model_overrides, dataset, callbacks, strategy)
    check_writable(run_dir, "--out")
    with hold_run_lock(run_dir):
        return _run_training_locked(config, model_overrides, dataset, callbacks, strategy)


def _run_training_locked(config: TrainConfig, model_overrides, dataset, callbacks, strategy=None) -> TrainResult:
    import keras

    from medganbench.config import from_dict
    from medganbench.data import load_dataset
    from medganbench.models import make_config, model_class
    from medganbench.runtime import configure_tensorflow

    chief = strategy is None or is_chief(strategy)
    run = RunFolder(config.run_dir())
    if chief:
        run.prepare(config.resume, config.overwrite)
    overrides = dict(model_overrides or {})
    if config.resume:
        saved = run.config(TrainConfig)
        fixed = ("model", "dataset", "size", "split", "batch_size", "seed")
        changed = [f for f in fixed if getattr(saved, f) != getattr(config, f)]
        if changed:
            raise ConfigError(f"--resume with different {', '.join(changed)} than {run.config_file} "
                              f"({', '.join(f'{f}={getattr(saved, f)!r}' for f in changed)})")
        cls = model_class(config.model)
        saved_model = run.model_config_dict()
        diff = {k: v for k, v in overrides.items() if k in saved_model and saved_model[k] != v}
        if diff:
            raise ConfigError(f"--resume with model settings {diff} that differ from {run.model_file}")
        model_config = from_dict(cls.config_class, {**saved_model, **overrides})
    else:
        overrides.setdefault("seed", config.seed)
        model_config = make_config(config.model, **overrides)
    if dataset is None:
        dataset = load_dataset(config.dataset, split=config.split, size=config.size)
    arrays = dataset_arrays(dataset)
    if strategy is None:
        configure_tensorflow()
        strategy = make_strategy(config.distribute)
    image_shape = arrays["images"].shape[1:] if "images" in arrays else arrays["targets"].shape[1:]
    num_classes = 0
    if "labels" in arrays:
        card = getattr(dataset, "card", {}) or {}
        num_classes = int(card.get("num_classes") or int(arrays["labels"].max()) + 1)
    # Other workers of a multi-worker run write their (identical) artefacts to a scratch folder.
    writes = run if chief else RunFolder(tempfile.mkdtemp(prefix="medganbench-worker-"))
    from medganbench.devices import resolve

    precision = resolve(config.mixed_precision, config.jit_compile, model=config.model).mixed_precision
    previous_policy = keras.mixed_precision.global_policy()
    if precision != "off":
        keras.mixed_precision.set_global_policy(f"mixed_{precision}")
    try:
        with strategy.scope():
            model = model_class(config.model)(tuple(image_shape), num_classes, model_config)
            trainer = Trainer(model, arrays, config, writes, strategy, callbacks=callbacks)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    if chief:
        run.path.mkdir(parents=True, exist_ok=True)
        run.write_config(config)
        run.write_model_config(model_config)
    if config.resume:
        restored = trainer.restore_latest(run)  # every worker resumes from the chief's checkpoints
        if restored is None:
            print(f"medganbench: no checkpoint in {run}; starting from step 0", file=sys.stderr)
    trainer.fit()
    if not chief:
        shutil.rmtree(writes.path, ignore_errors=True)
    return TrainResult(run, trainer, trainer.interrupted)


class _CallableModule(types.ModuleType):
    """``mgb.train(config, ...)`` is :func:`run_training`: the package attribute ``medganbench.train`` is
    this module (Python sets it on import), so the module itself is made callable."""

    def __call__(self, *args, **kwargs) -> TrainResult:
        return run_training(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
