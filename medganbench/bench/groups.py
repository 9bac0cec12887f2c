"""The benchmark's metric groups: each function computes one group of ``result.json``'s metrics.

A group is :func:`~medganbench.bench.result.metric_group` (values + what they were computed with) or
:func:`~medganbench.bench.result.skipped` (the reason, never a made-up number). The generation
benchmark (:mod:`medganbench.bench.protocol`) and the translation benchmark
(:mod:`medganbench.translate.evaluate`) both build their groups here.

Evaluation (always the same, so results are comparable):

1. domain features (the kit's classifier trained on the official training split,
   :mod:`medganbench.metrics.domain`) -> FID with bootstrap CI and real-vs-real floor, KID,
   precision/recall against the training split; the test split is the held-out real set;
2. Inception-v3 (torch-fidelity's weights) when the weights can be had and ``inception`` allows it;
   otherwise the group is ``skipped`` with the reason;
3. memorization: near copies of training images and exact duplicates of any real split;
4. augmentation gain (class-conditional models trained by the kit): per regime and seed, the generator
   is trained on the regime's labelled subset only; the fixed classifier recipe on that subset, with
   and without its synthetic images, and on synthetic images alone (TSTR); 100 % real as the ceiling.
"""

from __future__ import annotations

from pathlib import Path

from medganbench.bench.budgets import HEADLINE_REGIME, Budget
from medganbench.bench.provenance import accelerator
from medganbench.bench.result import PROTOCOL_VERSION, metric_group, skipped
from medganbench.errors import ConfigError, WeightsUnavailable

#: The split every generator trains on and every fidelity metric compares against.
REFERENCE_SPLIT = "train"
#: Real images of the training distribution the generator never saw: every floor, the real-vs-real
#: values and the memorization calibration. (The test split is shifted: 37.5 % normal images against
#: train's 25.8 %, so a floor from it is not a floor; see docs/metrics.md.)
HELDOUT_SPLIT = "val"
#: Fixed settings of the fidelity metrics (the bootstrap count comes from the budget); all go into the spec.
FIDELITY_SETTINGS = {"kid_subsets": 100, "prc_neighborhood": 3, "fid_min_samples_per_dim": 10.0, "draws": 20}
#: Significance level of the memorization verdict (one-sided binomial test; medganbench.metrics.memorization).
MEMORIZATION_ALPHA = 0.001
#: How the memorization verdict is made (enters the evaluation spec).
MEMORIZATION_SETTINGS = {"alpha": MEMORIZATION_ALPHA, "near_copy_quantile": 0.01,
                         "distance": "contrast-normalised pixels and domain features"}


def load_split(dataset: str, split: str, size: int):
    from medganbench.data import load_dataset

    return load_dataset(dataset, split=split, size=size)


def fidelity_settings(budget: Budget) -> dict:
    """The fidelity settings of a budget, as they enter the evaluation spec."""
    return {"fid_bootstrap": budget.fid_bootstrap, **FIDELITY_SETTINGS}


def fidelity_group(real_features, fake_features, *, extractor_id: str, heldout_features=None, fake_logits=None,
                   seed: int = 0, bootstrap: int = 100, settings: dict | None = None) -> dict:
    """FID (bootstrap CI, real-vs-real floor), KID, precision/recall of two feature sets -> metric group.

    real_features, fake_features, heldout_features: ``float (N, D)``. ``settings``: keys of
    :data:`FIDELITY_SETTINGS` (default: those).
    """
    from medganbench.metrics.fidelity import fidelity_from_features

    settings = {**FIDELITY_SETTINGS, **(settings or {})}
    values = fidelity_from_features(real_features, fake_features, heldout_features=heldout_features,
                                    fake_logits=fake_logits, seed=seed, bootstrap=bootstrap, **settings)
    return metric_group(values, extractor_id=extractor_id, n_generated=len(fake_features),
                        n_reference=len(real_features))


def domain_group(images, dataset: str, size: int, seed: int, budget: Budget, progress: bool):
    """-> (extractor, features dict {generated, train, heldout}, metric group)."""
    from medganbench.metrics.client import prestart_worker
    from medganbench.metrics.domain import get_domain_extractor, reference_features

    prestart_worker()  # its torch import overlaps the feature extraction below
    extractor = get_domain_extractor(dataset, size, progress=progress)
    real = reference_features(dataset, size, REFERENCE_SPLIT, extractor)
    heldout = reference_features(dataset, size, HELDOUT_SPLIT, extractor)
    fake = extractor.features(images)
    group = fidelity_group(real, fake, extractor_id=extractor.id, heldout_features=heldout, seed=seed,
                           bootstrap=budget.fid_bootstrap)
    return extractor, {"generated": fake, "train": real, "heldout": heldout}, group


def inception_group(images, dataset: str, size: int, seed: int, budget: Budget, mode: str, weights, progress):
    """-> (extractor spec or None, metric group)."""
    if mode == "never":
        return None, skipped("Inception metrics turned off (--inception never).")
    from medganbench.metrics.inception import get_inception_extractor

    try:
        extractor = get_inception_extractor(weights)
    except WeightsUnavailable as exc:
        return None, skipped(f"Inception weights unavailable: {exc}")
    if mode == "auto" and accelerator() is None:
        return None, skipped("Inception features run at about 8 images/s on CPU, so --inception auto skips "
                             "them without a GPU; pass --inception always to compute them anyway.")
    from medganbench.metrics.domain import reference_features

    real = reference_features(dataset, size, REFERENCE_SPLIT, extractor)  # cached per extractor id
    heldout = reference_features(dataset, size, HELDOUT_SPLIT, extractor)
    fake, logits = extractor.features_and_logits(images, progress=progress)
    # Inception keeps torch-fidelity's own defaults (no extra settings): that is what other papers report.
    from medganbench.metrics.fidelity import fidelity_from_features

    values = fidelity_from_features(real, fake, heldout_features=heldout, fake_logits=logits, seed=seed,
                                    bootstrap=budget.fid_bootstrap)
    from medganbench.metrics.spectrum import effective_dim

    spec = {**extractor.spec, "effective_dim": effective_dim(real), "effective_dim_split": REFERENCE_SPLIT}
    return spec, metric_group(values, extractor_id=extractor.id, n_generated=len(images), n_reference=len(real))


def memorization_group(images, features, extractor, dataset: str, size: int, out):
    """Near copies (pixel and domain space) and exact duplicates -> (metric group, picture path or None)."""
    from medganbench.metrics.memorization import closest_pairs_figure, memorization_report, pixel_neighbours

    train = load_split(dataset, REFERENCE_SPLIT, size).images
    heldout = load_split(dataset, HELDOUT_SPLIT, size).images
    test = load_split(dataset, "test", size).images
    # one nearest-neighbour search in pixels (10,000 x 4,708 images: seconds) for the test and the picture
    pixel = pixel_neighbours(images, train)
    values = memorization_report(images, train, heldout, features=features, other_splits={"test": test},
                                 alpha=MEMORIZATION_SETTINGS["alpha"],
                                 near_copy_quantile=MEMORIZATION_SETTINGS["near_copy_quantile"],
                                 neighbours={"pixel": pixel})
    picture = None
    if out is not None:
        import matplotlib.pyplot as plt

        picture = Path(out) / "memorization.png"
        fig = closest_pairs_figure(images, train, picture, n=8, space="pixel", neighbours=pixel,
                                   title="Generated images closest to a training image (normalised pixels)")
        plt.close(fig)
    return metric_group(values, extractor_id=extractor.id, n_generated=len(images), n_reference=len(train)), picture


def augmentation_group(synthesize, dataset: str, size: int, budget: Budget, progress: bool,
                       cache_dir: str | Path | None = None) -> dict:
    """The augmentation-gain study -> metric group.

    synthesize: a generator trained on each regime's subset
    (:class:`~medganbench.bench.runs.SubsetGenerator`); None when there is none to train (outside samples),
    and then the group is skipped with the reason. cache_dir: where a finished study is kept
    (``study.json``); a benchmark restarted with the same settings and the same subset generators reuses it
    instead of training the classifiers again (:func:`~medganbench.bench.runs.load_study`).
    """
    if synthesize is None:
        return skipped("protocol 2.0 trains the generator on each low-data regime's labelled subset only, so the "
                       "gain answers 'does a GAN trained on my few labels help?'; a samples file cannot be "
                       "retrained on a subset. Run `medganbench bench` with a registered model, or call "
                       "medganbench.metrics.augmentation.augmentation_gain(dataset, synthesize=...) with your "
                       "generator's training function.")
    from medganbench.bench.runs import load_study, save_study
    from medganbench.classifier import ClassifierRecipe
    from medganbench.metrics.augmentation import augmentation_gain, regime_name

    recipe = ClassifierRecipe(epochs=budget.classifier_epochs, min_steps=budget.classifier_min_steps)
    key = augmentation_study_key(synthesize, dataset, size, budget, recipe)
    cached = load_study(cache_dir, key) if cache_dir is not None else None
    if cached is not None:
        values, synthesize.trained = cached
    else:
        try:
            values = augmentation_gain(dataset, synthesize=synthesize, size=size,
                                       regimes=budget.augmentation_fractions, seeds=budget.augmentation_seeds,
                                       ratio=budget.synthetic_ratio, recipe=recipe, ceiling_seeds=budget.ceiling_seeds,
                                       progress=progress)
        except ConfigError as exc:  # e.g. a regime too small for a class: say so, no number
            return skipped(f"augmentation study could not run: {exc}")
        if cache_dir is not None:
            save_study(cache_dir, key, values, getattr(synthesize, "trained", []))
    head = regime_name(HEADLINE_REGIME)
    # the headline numbers the leaderboard shows, copied under constant names
    headline = {"headline_regime": head,
                **{f"auc_gain_{k}": values.get(f"{head}_gain_auc_{k}")
                   for k in ("mean", "std", "ci_low", "ci_high", "p_value")},
                "acc_gain_mean": values.get(f"{head}_gain_acc_mean"), "acc_gain_std": values.get(f"{head}_gain_acc_std"),
                "tstr_auc_mean": values.get(f"{head}_synthetic_auc_mean"),
                "real_auc_mean": values.get(f"{head}_real_auc_mean"),
                "ceiling_auc_mean": values.get("ceiling_auc_mean")}
    trained = getattr(synthesize, "trained", None)
    if trained:  # what the subset generators cost: the gain is not free
        values["generator_runs"] = len(trained)
        values["generator_subset_sizes"] = ",".join(str(t["n"]) for t in trained)
        values["generator_wall_time_s"] = round(sum(float(t["wall_time_s"]) for t in trained), 1)
    # n_generated stays None: the study's synthetic images come from the per-subset generators, not from the
    # evaluated samples file (their counts are the values' <regime>_n_synthetic)
    return metric_group({**headline, **values})


def augmentation_study_key(synthesize, dataset: str, size: int, budget: Budget, recipe) -> dict:
    """Everything a finished augmentation study depends on besides its generators' weights (checked apart)."""
    return {"dataset": dataset, "size": int(size), "spec": augmentation_spec(budget), "recipe": recipe.to_dict(),
            "generator": getattr(synthesize, "identity", lambda: None)()}


def augmentation_spec(budget: Budget) -> dict:
    return {"budget": budget.name, "fractions": list(budget.augmentation_fractions),
            "seeds": list(budget.augmentation_seeds), "synthetic_ratio": budget.synthetic_ratio,
            "headline_regime": HEADLINE_REGIME, "classifier_epochs": budget.classifier_epochs,
            "classifier_min_steps": budget.classifier_min_steps, "generator": "trained on each regime's subset",
            "generator_steps": budget.augmentation_steps, "ceiling_seeds": list(budget.ceiling_seeds),
            "classifier_deterministic_ops": True}


def generation_spec(*, dataset: str, size: int, sample_count: int, extractors: dict, budget: Budget,
                    seed: int) -> dict:
    """The evaluation spec of a generation result: everything its numbers depend on (hashed)."""
    return {
        "protocol_version": PROTOCOL_VERSION, "dataset": dataset, "size": int(size),
        "reference_split": REFERENCE_SPLIT, "heldout_split": HELDOUT_SPLIT, "sample_count": int(sample_count),
        "extractors": extractors,
        "preprocessing": {name: ex.get("preprocessing", "") for name, ex in extractors.items()},
        "fidelity": fidelity_settings(budget),
        "memorization": dict(MEMORIZATION_SETTINGS),
        "augmentation": augmentation_spec(budget),
        "seeds": {"eval": int(seed)},
    }
