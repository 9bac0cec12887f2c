"""Benchmark budgets: how long to train, how many images to evaluate, which augmentation regimes.

The sample count and the augmentation regimes are part of the protocol: they enter the evaluation
spec, so results of different budgets are never ranked together. The ``smoke`` budget shrinks everything
to seconds (for tests and notebooks: ``--budget smoke``, or ``mgb.smoke("quick", "smoke")`` in a notebook's
parameters); a smoke result says so in ``training.budget``. :func:`get_budget` returns the budget asked
for: the environment (``MEDGANBENCH_SMOKE``) is read by the CLI, not here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from medganbench.errors import ConfigError


@dataclass(frozen=True)
class Budget:
    name: str
    steps: int                       # generator updates
    batch_size: int
    n_samples: int                   # generated images evaluated (part of the evaluation spec)
    augmentation_fractions: tuple    # fractions of the training split for the augmentation-gain study
    augmentation_seeds: tuple        # seeds per regime: subset, its generator and its classifiers (paired by seed)
    synthetic_ratio: float           # synthetic images added per real image in regime (b)
    classifier_epochs: int           # epochs of the fixed classifier recipe (medganbench.classifier)
    classifier_min_steps: int        # its minimum number of updates (tiny subsets)
    augmentation_steps: int = 500    # generator updates per regime and seed, trained on that regime's subset only
    ceiling_seeds: tuple = (0,)      # seeds of the 100 %-real classifier (the ceiling; not paired)
    fid_bootstrap: int = 100         # bootstrap resamples for FID's confidence interval

    def as_dict(self) -> dict:
        return asdict(self)


#: ``quick`` is the README's main job: under 10 minutes on 2 idle CPU cores, every field filled (measured in
#: docs/benchmark.md). ``standard`` is the leaderboard's main table: at least 5 seeds for the augmentation gain.
BUDGETS: dict[str, Budget] = {
    "quick": Budget("quick", steps=1500, batch_size=64, n_samples=2000, augmentation_fractions=(0.05,),
                    augmentation_seeds=(0, 1, 2), synthetic_ratio=1.0, classifier_epochs=10, classifier_min_steps=200,
                    augmentation_steps=300, ceiling_seeds=(0,)),
    "standard": Budget("standard", steps=10_000, batch_size=64, n_samples=10_000,
                       augmentation_fractions=(0.01, 0.05, 0.10, 1.0), augmentation_seeds=(0, 1, 2, 3, 4),
                       synthetic_ratio=1.0, classifier_epochs=10, classifier_min_steps=300,
                       augmentation_steps=3000, ceiling_seeds=(0, 1, 2, 3, 4)),
    "full": Budget("full", steps=50_000, batch_size=64, n_samples=10_000,
                   augmentation_fractions=(0.01, 0.05, 0.10, 1.0), augmentation_seeds=(0, 1, 2, 3, 4),
                   synthetic_ratio=1.0, classifier_epochs=10, classifier_min_steps=300,
                   augmentation_steps=10_000, ceiling_seeds=(0, 1, 2, 3, 4)),
}

#: ``--budget smoke`` (what the CLI uses under MEDGANBENCH_SMOKE=1): same code path, seconds instead of minutes.
SMOKE = Budget("smoke", steps=20, batch_size=32, n_samples=300, augmentation_fractions=(0.05,),
               augmentation_seeds=(0, 1, 2), synthetic_ratio=1.0, classifier_epochs=1, classifier_min_steps=8,
               augmentation_steps=10, ceiling_seeds=(0,), fid_bootstrap=10)

#: The regime whose gain is the headline number (``auc_gain_mean``) in every budget: 5 % of the training
#: split, a low-data regime where augmentation can matter.
HEADLINE_REGIME = 0.05


def get_budget(name: str) -> Budget:
    """The budget called ``name``: ``quick``, ``standard``, ``full`` or ``smoke``."""
    if name == "smoke":
        return SMOKE
    if name not in BUDGETS:
        raise ConfigError(f"Unknown budget {name!r}; choose one of {', '.join(BUDGETS)} or smoke.")
    return BUDGETS[name]
