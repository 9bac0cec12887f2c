"""medganbench: a course and benchmark for generative adversarial networks on medical images.

One namespace for students and scripts::

    import medganbench as mgb
    data = mgb.load_dataset("pneumoniamnist")          # uint8 images (N,H,W,C), labels (N,1)
    mgb.show_grid(data.images[:32], data.labels[:32])   # a labelled figure
    result = mgb.train(mgb.TrainConfig(model="dcgan", steps=mgb.smoke(2000, 20), out="runs/dcgan"))
    images, labels = mgb.generate(result, 1000)         # uint8 samples from the run's generator
    mgb.evaluate("samples.npz", "pneumoniamnist")       # the benchmark's result.json

Importing this package is cheap on purpose: it imports neither TensorFlow nor torch. The names in
``__all__`` are resolved on first use (module-level ``__getattr__``), so TensorFlow is imported only when
a name that trains or builds a model is used; torch only ever runs in the metrics worker process
(``medganbench.metrics.worker``), because importing TensorFlow and then torchvision in one process crashes it.
"""

__version__ = "0.1.0"

from medganbench.errors import (  # noqa: F401  (re-exported)
    ConfigError,
    DatasetUnavailable,
    MedGanBenchError,
    WeightsUnavailable,
)
from medganbench.runtime import is_smoke, smoke  # noqa: F401

#: name -> "module:attribute", imported on first use. The curated set a notebook needs.
_LAZY = {
    # data
    "load_dataset": "medganbench.data:load_dataset",
    "list_datasets": "medganbench.data.listing:list_datasets",
    "make_phantoms": "medganbench.data.phantoms:make_phantoms",
    # models and training
    "build": "medganbench.models:build",
    "MODELS": "medganbench.registry:MODELS",
    "DATASETS": "medganbench.registry:DATASETS",
    "TrainConfig": "medganbench.train:TrainConfig",
    "Trainer": "medganbench.train:Trainer",
    "train": "medganbench.train",  # the module, callable: mgb.train(config) == run_training(config)
    "run_training": "medganbench.train:run_training",
    "Callback": "medganbench.callbacks:Callback",
    "RunFolder": "medganbench.runfolder:RunFolder",
    # sampling and the samples file
    "generate": "medganbench.samples:generate_samples",
    "load_generator": "medganbench.samples:load_generator",
    "save_samples": "medganbench.samples:save_samples",
    "class_balanced_labels": "medganbench.labels:class_balanced_labels",
    "load_samples": "medganbench.samples:load_samples",
    # evaluation, benchmark, leaderboard
    "evaluate": "medganbench.bench.protocol:evaluate_samples",
    "BenchConfig": "medganbench.bench.protocol:BenchConfig",
    "run_benchmark": "medganbench.bench.protocol:run_benchmark",
    "get_budget": "medganbench.bench.budgets:get_budget",
    "validate_result": "medganbench.bench.result:validate_result",
    "build_leaderboard": "medganbench.leaderboard:build_leaderboard",
    # pictures
    "show_grid": "medganbench.viz:image_grid",
    "grid_array": "medganbench.viz:grid_array",
    "save_grid": "medganbench.viz:save_grid",
    "plot_log": "medganbench.viz:plot_log",
    "to_uint8": "medganbench.imageconv:to_uint8",  # float [-1, 1] -> uint8
    "to_float": "medganbench.imageconv:to_float",  # uint8 -> float32 [-1, 1]
    # translation
    "TranslateConfig": "medganbench.translate.run:TranslateConfig",
    "train_translation": "medganbench.translate.run:train_translation",
    "evaluate_translation": "medganbench.translate.evaluate:evaluate_translation",
    # runtime
    "configure_tensorflow": "medganbench.runtime:configure_tensorflow",
    "Settings": "medganbench.settings:Settings",  # MEDGANBENCH_* variables: mgb.Settings.from_env()
}

__all__ = sorted([*_LAZY, "ConfigError", "DatasetUnavailable", "MedGanBenchError", "WeightsUnavailable",
                  "is_smoke", "smoke", "__version__"])


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'medganbench' has no attribute {name!r}")
    import importlib

    module, _, attr = target.partition(":")
    value = importlib.import_module(module)
    if attr:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
