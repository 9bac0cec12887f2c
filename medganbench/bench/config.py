"""The two typed configs of the benchmark; the CLI flags of ``medganbench bench`` and ``eval`` are built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class BenchConfig:
    """One benchmark run (CLI flags of ``medganbench bench`` are built from these fields)."""

    model: str = field(default="cdcgan", metadata={"help": "registered model name (medganbench.registry.MODELS)"})
    dataset: str = field(default="pneumoniamnist", metadata={"help": "data set name (MedMNIST flag)"})
    size: int = field(default=28, metadata={"help": "image size: 28, 64, 128 or 224"})
    budget: Literal["quick", "standard", "full", "smoke"] = field(
        default="quick", metadata={"help": "training/evaluation budget; quick = about 10 min on 2 CPU cores"})
    seed: int = field(default=0, metadata={"help": "seed of training, sampling and evaluation"})
    out: str = field(default="runs/bench", metadata={"help": "output folder (result.json, samples, pictures)"})
    inception: Literal["auto", "always", "never"] = field(
        default="auto", metadata={"help": "Inception-v3 metrics: auto = when weights are found and a GPU is "
                                          "present (about 8 img/s on CPU), always, never"})
    inception_weights: str | None = field(
        default=None, metadata={"help": "torch-fidelity Inception weights file (else MEDGANBENCH_INCEPTION_WEIGHTS)"})
    augmentation: bool = field(default=True, metadata={"help": "run the augmentation-gain study (conditional models)"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})


@dataclass
class EvalConfig:
    """Evaluation of an outside samples file (CLI flags of ``medganbench eval``)."""

    samples: str = field(default="", metadata={"help": "samples file: npz with uint8 'images' (+ 'labels')"})
    dataset: str = field(default="pneumoniamnist", metadata={"help": "data set the generator imitates"})
    size: int = field(default=28, metadata={"help": "image size of the samples"})
    out: str | None = field(default=None, metadata={"help": "output folder (default: beside the samples)"})
    seed: int = field(default=0, metadata={"help": "evaluation seed"})
    budget: Literal["quick", "standard", "full", "smoke"] = field(
        default="quick", metadata={"help": "evaluation settings of this budget (part of the evaluation spec)"})
    augmentation: bool = field(default=True, metadata={
        "help": "record the augmentation study; for outside samples it is skipped with the reason (protocol 2.0 "
                "trains the generator on each low-data subset, which a samples file cannot be)"})
    inception: Literal["auto", "always", "never"] = field(default="auto", metadata={"help": "see bench --inception"})
    inception_weights: str | None = field(default=None, metadata={"help": "Inception weights file"})
    model_name: str = field(default="external", metadata={"help": "name shown on the leaderboard"})
    author: str | None = field(default=None, metadata={"help": "submitter shown on the leaderboard"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})
