"""Protocol 2.0 sanity suite: sets of KNOWN quality, built from the real PneumoniaMNIST file, must come out
of the evaluation in the order of common sense on ``summary.score``.

The sets (500 images each, the size the score must handle):

* ``heldout_real``: training-distribution images no part of the evaluation has seen. The protocol's
  reference is the training split; here 800 training images (stratified) are taken out of the reference
  and of the memorization bank, so they are what a perfect generator would produce;
* ``mild_noise`` (Gaussian, sigma = 10 grey levels), ``blur`` (Gaussian, sigma = 1 px): mild corruptions;
* ``class_shift``: real unseen images with the test split's class mix (37.5 % normal, not 25.8 %);
* ``collapse``: 20 real unseen images, each repeated 25 times with +-2 grey-level jitter;
* ``copier``: training (reference) images with +-2 grey-level jitter;
* ``pure_noise``: uniform noise.

Each set goes through ``medganbench.bench.scoring.score_images`` with the protocol's settings (domain
features of the default extractor -> ``fidelity_from_features`` against the reference with the validation
split as the floor -> ``memorization_report`` calibrated on the validation split -> ``summarize``); only
the reference leaves out the 800 held-out images (and the FID bootstrap, which no assertion reads, is short).
"""

from __future__ import annotations

import pytest

N = 500
HOLDOUT = 800


@pytest.fixture(scope="module")
def scored(medmnist_root):
    from medganbench.bench.groups import HELDOUT_SPLIT, REFERENCE_SPLIT
    from medganbench.bench.scoring import known_quality_sets, score_images
    from medganbench.data import load_dataset
    from medganbench.metrics.client import worker_session
    from medganbench.metrics.domain import get_domain_extractor, reference_features

    train = load_dataset("pneumoniamnist", REFERENCE_SPLIT)
    heldout = load_dataset("pneumoniamnist", HELDOUT_SPLIT)
    extractor = get_domain_extractor("pneumoniamnist", 28, progress=False)
    train_f = reference_features("pneumoniamnist", 28, REFERENCE_SPLIT, extractor)
    heldout_f = reference_features("pneumoniamnist", 28, HELDOUT_SPLIT, extractor)

    sets, ref = known_quality_sets(train.images, train.labels, n=N, holdout=HOLDOUT, seed=0)
    results = {}
    with worker_session():
        for name, images in sets.items():
            results[name] = score_images(images, extractor.features(images), reference_images=train.images[ref],
                                         reference_features=train_f[ref], heldout_images=heldout.images,
                                         heldout_features=heldout_f, seed=0, bootstrap=10)
    return results


def _score(scored, name):
    return scored[name]["summary"]["score"]


def test_real_beats_corruption_beats_collapse_beats_noise(scored):
    table = {k: round(_score(scored, k), 1) for k in scored}
    from medganbench.bench.scoring import KNOWN_QUALITY_ORDER

    scores = [_score(scored, k) for k in KNOWN_QUALITY_ORDER]
    assert all(a < b for a, b in zip(scores, scores[1:])), f"ordering broken: {table}"
    for worse in ("blur", "class_shift"):
        assert _score(scored, "heldout_real") < _score(scored, worse), table


def test_heldout_real_lies_inside_the_floor_range(scored):
    dom = scored["heldout_real"]["domain"]
    s = scored["heldout_real"]["summary"]
    assert dom["kid_floor_low"] <= dom["kid_mean"] <= dom["kid_floor_high"], dom
    assert s["floor_low"] <= s["score"] <= s["floor_high"]
    assert s["score_ci_low"] <= 0.0 <= s["score_ci_high"]  # no excess over real data
    for name in ("mild_noise", "collapse", "pure_noise"):
        assert scored[name]["summary"]["score_ci_low"] > scored["heldout_real"]["summary"]["floor_high"], name


def test_copier_is_never_rankable_and_blur_is_never_memorized(scored):
    copier = scored["copier"]
    assert copier["memorization"]["memorized"] and not copier["summary"]["rankable"]
    assert any("memorized" in r for r in copier["summary"]["reasons"])
    for name in ("heldout_real", "mild_noise", "blur", "class_shift", "collapse", "pure_noise"):
        assert not scored[name]["memorization"]["memorized"], (name, scored[name]["memorization"]["memorized_reason"])
        assert scored[name]["summary"]["rankable"], (name, scored[name]["summary"]["reasons"])


def test_collapse_and_noise_are_flagged_by_recall(scored):
    for name in ("collapse", "pure_noise"):
        assert scored[name]["summary"]["warnings"], name
    for name in ("heldout_real", "mild_noise", "blur"):
        assert not scored[name]["summary"]["warnings"], name
    real = scored["heldout_real"]["domain"]
    assert abs(real["recall"] - real["recall_real"]) < 0.1 and abs(real["coverage"] - real["coverage_real"]) < 0.1
