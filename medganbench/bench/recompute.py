"""Check a submitted result against its samples file: recompute every number that can be recomputed.

``medganbench leaderboard validate --samples`` calls :func:`verify_with_samples`. A result file is
text anyone can edit; only the samples file pins what was evaluated. So, given it:

1. the file's sha256, image count, image shape and "labelled" flag must be the result's;
2. every metric group that is a deterministic function of the samples (:data:`RECOMPUTED_GROUPS`:
   the domain fidelity group — FID, its bootstrap interval and floor, KID, precision, recall, … — and
   the memorization group — near-copy fractions, duplicates, …) is recomputed under the result's
   ``eval_spec``, and EVERY value in it, plus its ``n_generated``/``n_reference``/``extractor_id``,
   must agree (numbers within ``atol + rtol·|claimed|``, everything else exactly);
3. the groups that cannot be recomputed here are named with the reason (:data:`UNVERIFIABLE`) and
   counted as unverified; the leaderboard marks their columns as shown-as-submitted.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

from medganbench.errors import MedGanBenchError
from medganbench.io import sha256_file

#: Groups recomputed from the samples file (deterministic given the samples, the data set and the spec).
RECOMPUTED_GROUPS = ("domain", "memorization")
#: Groups that are not recomputed, and why; their numbers are shown on the leaderboard as unverified.
UNVERIFIABLE = {
    "inception": "Inception-v3 features run at about 8 images/s on a CPU and need torch-fidelity's weights; "
                 "not recomputed",
    "augmentation": "trains classifiers on the samples (slow, and not bit-reproducible across machines); "
                    "not recomputed",
}


@dataclass
class Verification:
    """Outcome of :func:`verify_with_samples`: problems (empty = verified), what was and was not checked."""

    problems: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)  # dotted paths of the numbers that were recomputed and agree
    unverified: dict[str, str] = field(default_factory=dict)  # group -> why its numbers are not recomputed


def _close(a, b, rtol: float, atol: float) -> bool:
    return abs(a - b) <= atol + rtol * abs(b)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def compare_group(where: str, claimed: dict, recomputed: dict, rtol: float, atol: float) -> tuple[list[str], list[str]]:
    """(problems, verified paths) comparing two metric groups value by value, both ways."""
    problems, verified = [], []
    if claimed.get("status") != recomputed.get("status"):
        return [f"{where}: claimed status {claimed.get('status')!r}, recomputed {recomputed.get('status')!r} "
                f"({recomputed.get('reason', '')})."], []
    if recomputed.get("status") != "ok":
        return [], []
    for key in ("n_generated", "n_reference", "extractor_id"):
        if key in recomputed and claimed.get(key) != recomputed.get(key):
            problems.append(f"{where}.{key}: claimed {claimed.get(key)!r}, recomputed {recomputed.get(key)!r}.")
    cv, rv = claimed.get("values") or {}, recomputed.get("values") or {}
    for key in sorted(set(cv) | set(rv)):
        path = f"{where}.values.{key}"
        a, b = rv.get(key, "<absent>"), cv.get(key, "<absent>")
        if _is_number(a) and _is_number(b):
            ok = (math.isnan(a) and math.isnan(b)) or _close(a, b, rtol, atol)
        else:
            ok = a == b
        if ok:
            verified.append(path)
        else:
            problems.append(f"{path}: claimed {b}, recomputed {a} (tolerance {atol} + {rtol}·|claimed|).")
    return problems, verified


#: (samples sha256, eval_spec hash) -> recomputed groups: one samples file checked against several result
#: files (or the same one after an edit) is recomputed once per process. The numbers are a function of both.
_CACHE: dict[tuple[str, str], tuple[dict, str | None]] = {}


def _recompute_cached(images, spec: dict, digest: str) -> tuple[dict, str | None]:
    from medganbench.bench.result import spec_hash

    key = (digest, spec_hash(spec))
    if key not in _CACHE:
        _CACHE[key] = _recompute_groups(images, spec)
    groups, why_not = _CACHE[key]
    return {k: copy.deepcopy(v) for k, v in groups.items()}, why_not


def _recompute_groups(images, spec: dict) -> tuple[dict, str | None]:
    """{group: recomputed metric group} under ``spec``, or ({}, why this machine cannot reproduce the spec)."""
    from medganbench.bench.budgets import get_budget
    from medganbench.bench.groups import domain_group, fidelity_settings, memorization_group

    budget = get_budget((spec.get("augmentation") or {}).get("budget", "quick"))
    if fidelity_settings(budget) != spec.get("fidelity"):
        return {}, (f"fidelity settings {fidelity_settings(budget)} of budget {budget.name!r} differ from the "
                    f"spec's {spec.get('fidelity')}; was the result made with another medganbench version?")
    seed = int((spec.get("seeds") or {}).get("eval", 0))
    extractor, features, domain = domain_group(images, spec["dataset"], int(spec["size"]), seed, budget,
                                                progress=False)
    theirs = (spec.get("extractors") or {}).get("domain") or {}
    if extractor.spec != theirs:
        diff = sorted(k for k in set(extractor.spec) | set(theirs) if extractor.spec.get(k) != theirs.get(k))
        return {}, (f"this machine's domain extractor differs from the result's (in: {', '.join(diff)}); the "
                    "metrics cannot be checked here (retrained weights differ across machines).")
    memorization, _ = memorization_group(images, features, extractor, spec["dataset"], int(spec["size"]), None)
    return {"domain": domain, "memorization": memorization}, None


def verify_with_samples(result: dict, samples: str | Path, *, rtol: float, atol: float) -> Verification:
    """Recompute and compare every recomputable number of a (schema-valid) ``result`` from ``samples``."""
    from medganbench.samples import load_samples

    v = Verification()
    samples = Path(samples)
    if not samples.is_file():
        v.problems.append(f"no samples file at {samples}")
        return v
    claimed_samples = result.get("samples") or {}
    digest = sha256_file(samples)
    if digest != claimed_samples.get("sha256"):
        v.problems.append(f"samples file {samples} has sha256 {digest}, the result claims "
                          f"{claimed_samples.get('sha256')}: not the images that were evaluated.")
        return v
    try:
        images, labels = load_samples(samples)
    except MedGanBenchError as exc:
        v.problems.append(str(exc))
        return v
    # Counts and shapes: the result must describe the file it names.
    facts = {"samples.count": (claimed_samples.get("count"), len(images)),
             "samples.shape": (claimed_samples.get("shape"), [int(s) for s in images.shape[1:]]),
             "samples.labelled": (claimed_samples.get("labelled", labels is not None), labels is not None),
             "eval_spec.sample_count": ((result.get("eval_spec") or {}).get("sample_count"), len(images))}
    for path, (claim, actual) in facts.items():
        if claim != actual:
            v.problems.append(f"{path}: claimed {claim!r}, the samples file gives {actual!r}.")
        else:
            v.verified.append(path)
    if v.problems:
        return v
    kind = result.get("task", "generation")
    if kind != "generation":
        v.unverified[kind] = "translation results are not recomputed from a samples file"
        return v
    groups = (result.get("metrics") or {}).get(kind) or {}
    recomputed, why_not = _recompute_cached(images, result["eval_spec"], digest)
    if why_not:
        v.problems.append(why_not)
        return v
    for name in RECOMPUTED_GROUPS:
        p, ok = compare_group(f"metrics.{kind}.{name}", groups.get(name) or {}, recomputed[name], rtol, atol)
        v.problems += p
        v.verified += ok
    for name, group in groups.items():
        if name not in RECOMPUTED_GROUPS and isinstance(group, dict) and group.get("status") == "ok":
            v.unverified[name] = UNVERIFIABLE.get(name, "no recomputation is defined for this group")
    return v
