"""``result.json``: the one file a benchmark run, an outside submission and a leaderboard entry share.

Layout (JSON Schema: ``medganbench/bench/schema.json``, draft 2020-12; field by field in docs/benchmark.md)::

    protocol_version  "2.0"            # bumped whenever a number would change meaning (1.0: superseded)
    task              "generation" | "translation"
    dataset           {name, size, split, num_classes, channels}
    model             {name, config, parameter_count{generator, discriminator, total}, conditional, source}
    training          {steps, images_seen, batch_size, wall_time_s, budget, run_dir} | null (outside samples)
    hardware, seeds, packages
    samples           {file, sha256, count, shape, labelled}
    eval_spec         {protocol_version, dataset, size, reference_split, sample_count,
                       extractors{<name>: {id, weights_sha256}}, preprocessing, seeds}
    eval_spec_hash    sha256 of the canonical JSON of eval_spec
    metrics           {"generation": {domain, inception, memorization, augmentation, ...}}
                      | {"translation": {...}}   # each group: {status ok|skipped, reason, extractor_id,
                                                 #              n_generated, n_reference, values{flat}}
    summary           {score, score_name, lower_is_better, score_ci_low, score_ci_high, rankable, reasons,
                       warnings}   # derived from metrics by summarize(); the leaderboard ranks by it

Every result is made by :func:`build_result` (generation and translation alike) and validated against
the schema before it is written. Two results may be ranked together only when their ``eval_spec_hash``
is equal (same extractor weights, preprocessing, sample count, reference split, seeds) and both are
``summary.rankable``.

Translation results (image-to-image models) use the same family with ``task: "translation"`` and a
``metrics.translation`` object of metric groups of the same form (``$defs/metric_group``);
everything else (data set, model, eval_spec and its hash, samples) is shared.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from medganbench.bench.provenance import hardware_info, now_iso, package_versions
from medganbench.errors import MedGanBenchError
from medganbench.io import atomic_write_text, sha256_file

PROTOCOL_VERSION = "2.0"
SUPPORTED_PROTOCOL_VERSIONS = ("2.0",)
#: Versions whose results are still read (validated against their own schema) but never ranked with current
#: ones: the leaderboard lists them apart as superseded. 1.0 ranked by domain FID alone (docs/benchmark.md).
SUPERSEDED_PROTOCOL_VERSIONS = ("1.0",)

# --- building blocks ---------------------------------------------------------------------------

def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace: the byte string that is hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def spec_hash(eval_spec: dict) -> str:
    """sha256 hex digest of the canonical JSON of an evaluation spec."""
    return hashlib.sha256(canonical_json(eval_spec).encode("ascii")).hexdigest()


def skipped(reason: str, **extra) -> dict:
    """A metric group that was not computed, with the reason (never a made-up number)."""
    return {"status": "skipped", "reason": reason, **extra}


def metric_group(values: dict, *, extractor_id: str | None = None, n_generated: int | None = None,
                 n_reference: int | None = None, **extra) -> dict:
    """A computed metric group: a flat dict of values plus what they were computed with."""
    return {"status": "ok", "extractor_id": extractor_id, "n_generated": n_generated,
            "n_reference": n_reference, "values": _plain(values), **extra}


def samples_block(samples_path: str | Path, images, labelled: bool) -> dict:
    """``result.json``'s ``samples``: the evaluated file's name and sha256, and its images' count and shape.

    images: the file's ``uint8 (N, H, W[, C])`` images as evaluated.
    """
    return {"file": Path(samples_path).name, "sha256": sha256_file(samples_path), "count": len(images),
            "shape": [int(s) for s in images.shape[1:]], "labelled": bool(labelled)}


def build_result(*, task: str, dataset: dict, model: dict, training: dict | None, seeds: dict, samples: dict,
                 eval_spec: dict, groups: dict, artifacts: dict | None = None,
                 submission: dict | None = None) -> dict:
    """The one way a ``result.json`` dict is made, for generation and translation alike; validated.

    task: ``"generation"`` or ``"translation"``. dataset: ``{name, size, split, num_classes, channels}``.
    model: ``{name, config, parameter_count, conditional, source}``. training: ``{steps, images_seen,
    batch_size, wall_time_s, budget, run_dir}`` or None (samples made outside the kit). seeds: at least
    ``{"eval": int}``. samples: :func:`samples_block` of the evaluated samples file. eval_spec: everything the numbers depend on
    (its hash is computed here). groups: ``{name: metric_group(...) | skipped(...)}``.
    Raises MedGanBenchError listing every problem when the result would not validate against the schema.
    """
    result = {
        "protocol_version": PROTOCOL_VERSION, "task": task, "created": now_iso(),
        "dataset": dataset, "model": model, "training": training, "hardware": hardware_info(),
        "seeds": seeds, "packages": package_versions(),
        "samples": samples, "eval_spec": eval_spec, "eval_spec_hash": spec_hash(_plain(eval_spec)),
        "metrics": {task: groups}, "artifacts": dict(artifacts or {}),
    }
    if submission:
        result["submission"] = submission
    result["summary"] = summarize(task, groups)
    result = _plain(result)
    problems = validate_result(result)
    if problems:
        raise MedGanBenchError("the result does not follow the result.json schema (a bug in the code that "
                               "built it):\n  " + "\n  ".join(problems))
    return result


def summarize(task: str, groups: dict) -> dict:
    """The ``summary`` block (score, score_name, lower_is_better, rankable, reasons, ...) of a task's groups.

    Generation: :func:`medganbench.bench.summary.summarize`; translation:
    :func:`medganbench.bench.translation_summary.summarize_translation`.
    """
    if task == "translation":
        from medganbench.bench.translation_summary import summarize_translation

        return summarize_translation(_plain(groups))
    from medganbench.bench.summary import summarize as summarize_generation

    return summarize_generation(_plain(groups))


def _plain(obj):
    """numpy scalars/arrays -> plain JSON values (NaN/inf become null: JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _plain(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# --- schema validation and consistency ---------------------------------------------------------

@lru_cache(maxsize=4)
def load_schema(version: str = PROTOCOL_VERSION) -> dict:
    """The JSON Schema of a protocol version (``schema.json`` is the current one, ``schema-<v>.json`` older)."""
    name = "schema.json" if version == PROTOCOL_VERSION else f"schema-{version}.json"
    return json.loads(resources.files("medganbench.bench").joinpath(name).read_text())


def _path(err) -> str:
    return "/".join(str(p) for p in err.absolute_path) or "(top level)"


def _schema_problems(result: dict, version: str = PROTOCOL_VERSION) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(version),
                                               format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    problems = []
    for err in sorted(validator.iter_errors(result), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        # if/then failures repeat the inner error; report the inner one only
        if err.validator in ("if", "allOf") and err.context:
            continue
        problems.append(f"schema: {_path(err)}: {err.message}")
    return problems


def _get(d, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def _consistency_problems(r: dict, superseded_ok: bool = False) -> list[str]:
    p: list[str] = []
    version = r.get("protocol_version")
    if isinstance(version, str) and version in SUPERSEDED_PROTOCOL_VERSIONS and not superseded_ok:
        p.append(f"protocol_version {version!r} is superseded by {PROTOCOL_VERSION} (its ranking used domain FID "
                 "alone); re-run the evaluation with this medganbench to rank it.")
    elif isinstance(version, str) and version not in SUPPORTED_PROTOCOL_VERSIONS + SUPERSEDED_PROTOCOL_VERSIONS:
        p.append(f"protocol_version {version!r} is not supported by this medganbench "
                 f"(supported: {', '.join(SUPPORTED_PROTOCOL_VERSIONS)}); re-run the evaluation with this version.")
    spec = r.get("eval_spec")
    if isinstance(spec, dict):
        try:
            h = spec_hash(spec)
        except (TypeError, ValueError) as exc:
            p.append(f"eval_spec cannot be hashed: {exc}")
            h = None
        if h is not None and r.get("eval_spec_hash") != h:
            p.append(f"eval_spec_hash {r.get('eval_spec_hash')!r} does not match the eval_spec (its hash is {h}); "
                     "the spec was edited after evaluation.")
        for key, where in (("dataset", ("dataset", "name")), ("size", ("dataset", "size")),
                           ("protocol_version", ("protocol_version",))):
            if key in spec and _get(r, *where) is not None and spec[key] != _get(r, *where):
                p.append(f"eval_spec.{key}={spec[key]!r} differs from {'.'.join(where)}={_get(r, *where)!r}.")
        n_spec = spec.get("sample_count")
        n_samples = _get(r, "samples", "count")
        if n_spec is not None and n_samples is not None and n_spec != n_samples:
            p.append(f"samples.count={n_samples} differs from eval_spec.sample_count={n_spec}.")
        extractor_ids = {v.get("id") for v in (spec.get("extractors") or {}).values() if isinstance(v, dict)}
    else:
        n_spec, extractor_ids = None, set()
    shape = _get(r, "samples", "shape")
    size = _get(r, "dataset", "size")
    if isinstance(shape, list) and len(shape) == 3 and isinstance(size, int) and shape[:2] != [size, size]:
        p.append(f"samples.shape {shape} does not match dataset.size {size}.")
    training = r.get("training")
    if isinstance(training, dict):
        steps, seen, bs = training.get("steps"), training.get("images_seen"), training.get("batch_size")
        if all(isinstance(v, int) for v in (steps, seen, bs)) and seen != steps * bs:
            p.append(f"training.images_seen={seen} is not steps*batch_size={steps}*{bs}.")
    pc = _get(r, "model", "parameter_count")
    if isinstance(pc, dict) and all(isinstance(pc.get(k), int) for k in ("generator", "discriminator", "total")) \
            and pc["total"] != pc["generator"] + pc["discriminator"]:
        p.append(f"model.parameter_count.total={pc['total']} is not generator+discriminator.")
    task = r.get("task")
    blocks = r.get("metrics") if isinstance(r.get("metrics"), dict) else {}
    for kind, groups in blocks.items():
        if not isinstance(groups, dict):
            continue
        if task in ("generation", "translation") and kind != task and kind in ("generation", "translation"):
            p.append(f"metrics.{kind} present in a {task!r} result.")
        for name, g in groups.items():
            if not isinstance(g, dict) or g.get("status") != "ok":
                continue
            where = f"metrics.{kind}.{name}"
            ex = g.get("extractor_id")
            if ex is not None and extractor_ids and ex not in extractor_ids:
                p.append(f"{where}.extractor_id {ex!r} is not one of the eval_spec extractors {sorted(extractor_ids)}.")
            ng = g.get("n_generated")
            if kind == "generation" and name in ("domain", "inception") and n_spec is not None \
                    and ng is not None and ng != n_spec:
                p.append(f"{where}.n_generated={ng} differs from eval_spec.sample_count={n_spec}.")
            for k, v in (g.get("values") or {}).items():
                if isinstance(v, float) and not math.isfinite(v):
                    p.append(f"{where}.values.{k} is not a finite number.")
                if (k.endswith("fraction") or k in ("precision", "recall", "f_score")) and \
                        isinstance(v, (int, float)) and not 0 <= v <= 1:
                    p.append(f"{where}.values.{k}={v} is outside [0, 1].")
                if k == "fid" and isinstance(v, (int, float)) and v < -1e-6:
                    p.append(f"{where}.values.fid={v} is negative.")
    summary = r.get("summary")
    if version in SUPPORTED_PROTOCOL_VERSIONS and isinstance(summary, dict) and task in blocks \
            and isinstance(blocks.get(task), dict):
        # the summary is derived from the metrics: a hand-edited score or verdict does not survive this
        try:
            expected = summarize(task, blocks[task])
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            p.append(f"summary cannot be recomputed from metrics.{task}: {type(exc).__name__}: {exc}")
        else:
            for key in ("score", "rankable", "score_name", "lower_is_better"):
                if summary.get(key) != expected.get(key):
                    p.append(f"summary.{key}={summary.get(key)!r} is not what metrics.{task} give "
                             f"({expected.get(key)!r}); the summary was edited after evaluation.")
    return p


def _interval_and_count_problems(r: dict) -> list[str]:
    """Numbers that contradict each other: an estimate outside its own interval, counts that disagree.

    Every ``X_ci_low`` / ``X_ci_high`` pair must satisfy ``low <= X <= high`` (an edited FID of 0.01
    with its interval [24, 27] is caught here, without the samples file), and the ``n_generated`` of every
    group computed on the samples file must be the number of samples the result says it evaluated.
    """
    p: list[str] = []
    n_samples = _get(r, "samples", "count")
    blocks = r.get("metrics") if isinstance(r.get("metrics"), dict) else {}
    for kind, groups in blocks.items():
        if not isinstance(groups, dict):
            continue
        for name, g in groups.items():
            if not isinstance(g, dict) or g.get("status") != "ok":
                continue
            where = f"metrics.{kind}.{name}"
            ng = g.get("n_generated")
            # Groups computed on the samples file itself (augmentation may train on images generated apart).
            on_samples = name in ("domain", "inception", "memorization")
            if kind == "generation" and on_samples and isinstance(ng, int) and isinstance(n_samples, int) \
                    and ng != n_samples:
                p.append(f"{where}.n_generated={ng} differs from samples.count={n_samples}.")
            values = g.get("values") if isinstance(g.get("values"), dict) else {}
            for key, low in values.items():
                if not key.endswith("_ci_low"):
                    continue
                base = key[: -len("_ci_low")]
                est, high = values.get(base), values.get(base + "_ci_high")
                nums = [v for v in (low, est, high) if isinstance(v, (int, float)) and not isinstance(v, bool)]
                if len(nums) != 3 or not all(math.isfinite(v) for v in nums):
                    continue
                tol = 1e-9 * max(1.0, abs(est))
                if not low - tol <= est <= high + tol:
                    p.append(f"{where}.values.{base}={est} lies outside its own interval [{low}, {high}]; "
                             "the estimate or the interval was edited.")
    return p


def identity_problems(model_name: str, submission: dict | None = None) -> list[str]:
    """Schema problems of the strings a result shows on the leaderboard (``model.name``, ``submission.*``).

    Checked before an evaluation starts, so a name the leaderboard would refuse fails at once, not
    after the metrics have run.
    """
    import jsonschema

    props = load_schema()["properties"]
    fragment = {"type": "object", "properties": {"model": {"type": "object", "properties": {
        "name": props["model"]["properties"]["name"]}}, "submission": props["submission"]}}
    doc = {"model": {"name": model_name}, **({"submission": submission} if submission else {})}
    return [f"{_path(e)}: {e.message}" for e in jsonschema.Draft202012Validator(fragment).iter_errors(doc)]


def validate_result(result: dict) -> list[str]:
    """Every problem with a result: schema violations, then internal inconsistencies. [] means valid.

    A result of a superseded protocol version (:data:`SUPERSEDED_PROTOCOL_VERSIONS`) gets one problem saying
    so; :func:`validate_superseded` checks it against its own version's schema instead.
    """
    if not isinstance(result, dict):
        return [f"a result must be a JSON object, got {type(result).__name__}"]
    return _schema_problems(result) + _consistency_problems(result) + _interval_and_count_problems(result)


def is_superseded(result) -> bool:
    """True for a result of a protocol version this kit still reads but no longer ranks (e.g. 1.0)."""
    return isinstance(result, dict) and result.get("protocol_version") in SUPERSEDED_PROTOCOL_VERSIONS


def validate_superseded(result: dict) -> list[str]:
    """Every problem with a superseded-version result, judged by that version's own schema. [] means valid."""
    version = result.get("protocol_version")
    if version not in SUPERSEDED_PROTOCOL_VERSIONS:
        return [f"protocol_version {version!r} is not a superseded version ({', '.join(SUPERSEDED_PROTOCOL_VERSIONS)})."]
    return _schema_problems(result, version) + _consistency_problems(result, superseded_ok=True)


# --- files -------------------------------------------------------------------------------------

def write_result(result: dict, path: str | Path, *, validate: bool = True) -> Path:
    """Validate and write ``result.json`` atomically; raises MedGanBenchError listing every problem."""
    result = _plain(result)
    if validate:
        problems = validate_result(result)
        if problems:
            raise MedGanBenchError(f"refusing to write an invalid result to {path}:\n  " + "\n  ".join(problems))
    return atomic_write_text(path, json.dumps(result, indent=2, sort_keys=False, allow_nan=False) + "\n")


def load_result(path: str | Path) -> dict:
    """Read a result file (no validation); a broken file raises MedGanBenchError naming it."""
    path = Path(path)
    if not path.is_file():
        raise MedGanBenchError(f"No result file at {path}.")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MedGanBenchError(f"{path} is not valid JSON: {exc}") from None
