"""The leaderboard: ``leaderboard/submissions/*.json`` (result files) -> ``LEADERBOARD.md``, a CSV and a plot.

Rules (docs/benchmark.md, protocol 2.0):
- a submission is a ``result.json`` (:mod:`medganbench.bench.result`); an invalid one is never ranked and is
  listed under "Rejected" with every problem;
- results are grouped per data set and size, then per ``eval_spec_hash``: two results with different evaluation
  specs (extractor weights, preprocessing, sample count, reference split, seeds) are never ranked together;
- within a table, only results whose ``summary.rankable`` is true get a rank, ordered by ``summary.score``
  (its direction from ``summary.lower_is_better``; ties by model name); the others are listed below the
  ranked rows with ``summary.reasons`` (e.g. memorized: a copier is never ranked);
- results of a superseded protocol version (1.0, ranked by domain FID alone) are checked against their own
  schema and listed apart under "Superseded", never ranked.

Usage::

    problems = validate_submission("leaderboard/submissions/x.json", samples="x.npz")
    paths = build_leaderboard("leaderboard")   # {'markdown': ..., 'csv': ..., 'plot': ...}
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from medganbench.bench.result import (
    PROTOCOL_VERSION,
    is_superseded,
    load_result,
    validate_result,
    validate_superseded,
)
from medganbench.errors import MedGanBenchError
from medganbench.io import atomic_write_text, save_figure
from medganbench.mdtext import md_link, md_text

#: Columns of the CSV and (most of) the Markdown tables; values come from :func:`row_from_result`.
COLUMNS = ("dataset", "size", "eval_spec_hash", "protocol_version", "status", "rank", "score_name", "score",
           "score_ci_low", "score_ci_high", "rankable", "reasons", "warnings", "model", "submitter", "source",
           "budget", "steps", "images_seen", "wall_time_s", "sample_count", "domain_fid", "domain_fid_ci_low",
           "domain_fid_ci_high",
           "domain_kid_mean", "domain_precision", "domain_recall", "inception_fid", "near_copy_fraction",
           "augmentation_auc_gain", "augmentation_auc_gain_std", "augmentation_auc_gain_ci_low",
           "augmentation_auc_gain_ci_high", "augmentation_auc_gain_p_value", "file")

#: Marks the columns `validate --samples` cannot recompute (medganbench.bench.recompute.UNVERIFIABLE).
UNVERIFIED_MARK = "†"
#: Default tolerance when recomputing the metrics of a submission from its samples file.
DEFAULT_RTOL = 0.01
DEFAULT_ATOL = 1e-3


def _val(result: dict, group: str, key: str):
    g = (result.get("metrics") or {}).get(result.get("task", "generation"), {}).get(group) or {}
    if g.get("status") != "ok":
        return None
    v = (g.get("values") or {}).get(key)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def model_label(model: dict) -> str | None:
    """The model's name as the leaderboard shows it: with its non-default training options, if any
    (``{"name": "dcgan", "options": {"diffaugment": "color,cutout"}}`` -> ``"dcgan + diffaugment=color,cutout"``)."""
    name = model.get("name")
    options = model.get("options")
    if name is None or not isinstance(options, dict) or not options:
        return name
    return f"{name} + " + ", ".join(f"{k}={options[k]}" for k in sorted(options))


def row_from_result(result: dict, file: str = "") -> dict:
    """One leaderboard row (flat dict, keys = :data:`COLUMNS`, missing values None).

    ``status``: ``"ranked"`` once :func:`rank_rows` gave it a rank, ``"not rankable"`` (``reasons`` says why)
    or ``"superseded"`` (an older protocol version).
    """
    training = result.get("training") or {}
    model = result.get("model") or {}
    sub = result.get("submission") or {}
    summary = result.get("summary") or {}
    superseded = is_superseded(result)
    reasons = list(summary.get("reasons") or [])
    if superseded:
        reasons = [f"protocol {result.get('protocol_version')} is superseded by {PROTOCOL_VERSION}: re-run the "
                   "evaluation to rank it."]
    score = summary.get("score")
    return {
        "dataset": result["dataset"]["name"], "size": result["dataset"]["size"],
        "eval_spec_hash": result["eval_spec_hash"], "protocol_version": result.get("protocol_version"),
        "status": "superseded" if superseded else "not rankable", "rank": None,
        "score_name": summary.get("score_name"),
        "score": score if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
        "score_ci_low": summary.get("score_ci_low"), "score_ci_high": summary.get("score_ci_high"),
        "floor_low": summary.get("floor_low"), "floor_high": summary.get("floor_high"),
        "lower_is_better": summary.get("lower_is_better", True),
        "rankable": bool(summary.get("rankable")) and not superseded,
        "reasons": "; ".join(reasons), "warnings": "; ".join(summary.get("warnings") or []),
        "model": model_label(model), "submitter": sub.get("author") or sub.get("name") or "",
        "source": model.get("source", "medganbench"), "budget": training.get("budget"),
        "steps": training.get("steps"), "images_seen": training.get("images_seen"),
        "wall_time_s": training.get("wall_time_s"), "sample_count": result["eval_spec"]["sample_count"],
        "domain_fid": _val(result, "domain", "fid"),
        "domain_fid_ci_low": _val(result, "domain", "fid_ci_low"),
        "domain_fid_ci_high": _val(result, "domain", "fid_ci_high"),
        "domain_kid_mean": _val(result, "domain", "kid_mean"),
        "domain_precision": _val(result, "domain", "precision"),
        "domain_recall": _val(result, "domain", "recall"),
        "inception_fid": _val(result, "inception", "fid"),
        "near_copy_fraction": _val(result, "memorization", "near_copy_fraction"),
        "augmentation_auc_gain": _val(result, "augmentation", "auc_gain_mean"),
        "augmentation_auc_gain_std": _val(result, "augmentation", "auc_gain_std"),
        "augmentation_auc_gain_ci_low": _val(result, "augmentation", "auc_gain_ci_low"),
        "augmentation_auc_gain_ci_high": _val(result, "augmentation", "auc_gain_ci_high"),
        "augmentation_auc_gain_p_value": _val(result, "augmentation", "auc_gain_p_value"),
        "file": file,
    }


def rank_rows(rows: list[dict]) -> list[dict]:
    """Rank rows within their (data set, size, evaluation spec) table: rankable rows by score, the rest after.

    Sets ``rank`` (1, 2, ... for rankable rows; None otherwise) and ``status``. Tables come out ordered by
    data set, size, most entries first; within a table the ranked rows first, then the others by model name.
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["size"], row["eval_spec_hash"]), []).append(row)
    out = []
    for key in sorted(groups, key=lambda k: (str(k[0]), k[1], -len(groups[k]), k[2])):
        table = groups[key]
        ranked = [r for r in table if r["rankable"] and r["score"] is not None]
        # a table mixes score directions only if specs were forged; the spec hash normally pins the score rule
        ranked.sort(key=lambda r: (r["score"] if r["lower_is_better"] else -r["score"], str(r["model"])))
        for i, row in enumerate(ranked, 1):
            row["rank"], row["status"] = i, "ranked"
        others = sorted((r for r in table if r not in ranked), key=lambda r: str(r["model"]))
        for row in others:
            row["rank"] = None
        out.extend(ranked + others)
    return out


@dataclass
class Collected:
    rows: list[dict]                # current-protocol generation results, ranked ones first in each table
    rejected: dict[str, list[str]]  # file name -> problems
    translation: list[tuple[str, dict]] = field(default_factory=list)  # (file, valid translation result)
    superseded: list[tuple[str, dict]] = field(default_factory=list)   # (file, valid result of an older protocol)

    @property
    def n_ranked(self) -> int:
        return sum(1 for r in self.rows if r["rank"] is not None)


def collect(submissions: str | Path) -> Collected:
    """Read and validate every ``*.json`` under ``submissions``; rank valid rankable ones within their spec group."""
    folder = Path(submissions)
    if not folder.is_dir():
        raise MedGanBenchError(f"No submissions folder at {folder}; put result.json files in it.")
    rows, rejected, translation, superseded = [], {}, [], []
    for path in sorted(folder.glob("*.json")):
        try:
            result = load_result(path)
        except MedGanBenchError as exc:
            rejected[path.name] = [str(exc)]
            continue
        old = is_superseded(result)
        problems = validate_superseded(result) if old else validate_result(result)
        if problems:
            rejected[path.name] = problems
            continue
        if old:
            superseded.append((path.name, result))
        elif result.get("task") == "translation":
            # Translation results have their own table (PSNR/SSIM against baselines), never ranked with generators.
            translation.append((path.name, result))
        else:
            rows.append(row_from_result(result, file=path.name))
    return Collected(rank_rows(rows), rejected, translation, superseded)


def _fmt(v, digits=3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:.1f}"
        return f"{v:.{digits}f}"
    return str(v)


def _interval(v, low, high, digits) -> str:
    text = _fmt(v, digits)
    if v is not None and low is not None and high is not None:
        text += f" [{_fmt(low, digits)}, {_fmt(high, digits)}]"
    return text


def _gain(r: dict) -> str:
    text = _interval(r["augmentation_auc_gain"], r["augmentation_auc_gain_ci_low"],
                     r["augmentation_auc_gain_ci_high"], 3)
    if r["augmentation_auc_gain_p_value"] is not None:
        text += f", p={r['augmentation_auc_gain_p_value']:.2g}"
    return text


def render_markdown(collected: Collected, link_prefix: str = "submissions/") -> str:
    """The leaderboard as Markdown: one section per data set and size, one table per evaluation spec.

    In each table the rankable results are ranked by ``summary.score``; the others follow, unranked, with
    their reasons. Results of superseded protocol versions are listed apart at the end.
    """
    out = ["# medganbench leaderboard", "",
           "Generated by `medganbench leaderboard build` from `leaderboard/submissions/*.json`; do not edit by hand.",
           (f"Protocol {PROTOCOL_VERSION}. Only results whose `summary.rankable` is true are ranked, by "
            "`summary.score` (the score's name and direction are in each table's header); the others are listed "
            "below the ranked rows with the reasons (a memorized set is never ranked). Results evaluated under "
            "different evaluation specs (extractor weights, preprocessing, sample count, reference split, seeds) "
            "are in separate tables and never ranked against each other. Results of older protocol versions are "
            "listed apart as superseded. See docs/benchmark.md."), "",
           (f"{UNVERIFIED_MARK} unverified: shown as submitted. `medganbench leaderboard validate --samples` recomputes "
            "every other number from the submission's samples file; these it cannot (Inception needs its weights and "
            "hours of CPU, the augmentation study trains classifiers). See docs/reliability.md."), ""]
    by_ds: dict[tuple, dict[str, list[dict]]] = {}
    for row in collected.rows:
        by_ds.setdefault((row["dataset"], row["size"]), {}).setdefault(row["eval_spec_hash"], []).append(row)
    if not by_ds:
        out += ["_No valid submissions yet._", ""]
    # Every string that comes from a submission goes through md_text / md_link: a name cannot add a row or a heading.
    for (ds, size), specs in sorted(by_ds.items()):
        out += [f"## {md_text(ds)} ({md_text(size)}×{md_text(size)})", ""]
        for spec, rows in specs.items():
            n = rows[0]["sample_count"]
            named = next((r for r in rows if r["score_name"]), rows[0])
            direction = "lower is better" if named["lower_is_better"] else "higher is better"
            short = f"`{spec[:12]}`" if re.fullmatch(r"[0-9a-f]{12,64}", str(spec)) else md_text(spec[:12])
            out += [f"### Evaluation spec {short} ({md_text(n)} samples)", ""]
            ranked = [r for r in rows if r["rank"] is not None]
            if ranked:
                out += [(f"| # | model | submitter | budget | steps | score: {md_text(named['score_name'])} [95% CI] "
                         f"({direction}) | domain FID | domain KID | precision | recall | Inception FID{UNVERIFIED_MARK} "
                         f"| near copies | aug. gain (AUC){UNVERIFIED_MARK} [95% CI] | result |"),
                        "|---:|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|"]
                for r in ranked:
                    out.append(
                        f"| {r['rank']} | {md_text(r['model'])} | {md_text(r['submitter'] or '–')} "
                        f"| {md_text(r['budget'] or 'external')} | {md_text(_fmt(r['steps']))} "
                        f"| {md_text(_interval(r['score'], r['score_ci_low'], r['score_ci_high'], 2))} "
                        f"| {md_text(_fmt(r['domain_fid'], 2))} | {md_text(_fmt(r['domain_kid_mean'], 4))} "
                        f"| {md_text(_fmt(r['domain_precision']))} | {md_text(_fmt(r['domain_recall']))} "
                        f"| {md_text(_fmt(r['inception_fid'], 2))} "
                        f"| {md_text(_fmt(r['near_copy_fraction']))} | {md_text(_gain(r))} "
                        f"| {md_link(r['file'], r['file'], link_prefix)} |")
                out.append("")
                floor = next((r for r in ranked if r["floor_low"] is not None and r["floor_high"] is not None), None)
                if floor is not None:
                    out += [(f"Real images the generator never saw score in [{md_text(_fmt(floor['floor_low'], 2))}, "
                             f"{md_text(_fmt(floor['floor_high'], 2))}] at this sample count (the floor)."), ""]
            else:
                out += ["_No rankable result in this table._", ""]
            unranked = [r for r in rows if r["rank"] is None]
            if unranked:
                out += ["Not ranked:", "", "| model | submitter | budget | score | why not ranked | result |",
                        "|---|---|---|---:|---|---|"]
                for r in unranked:
                    out.append(f"| {md_text(r['model'])} | {md_text(r['submitter'] or '–')} "
                               f"| {md_text(r['budget'] or 'external')} | {md_text(_fmt(r['score'], 2))} "
                               f"| {md_text(r['reasons'] or '–')} | {md_link(r['file'], r['file'], link_prefix)} |")
                out.append("")
            warned = [r for r in rows if r["warnings"]]
            for r in warned:
                out.append(f"- Note on {md_text(r['model'])} ({md_text(r['file'])}): {md_text(r['warnings'])}")
            if warned:
                out.append("")
    # Translation metrics (PSNR/SSIM/MAE against the baselines) did not change meaning in 2.0, so superseded
    # translation results stay in their table, marked; generation results of 1.0 are listed apart.
    old_translation = [(n, r) for n, r in collected.superseded if r.get("task") == "translation"]
    if collected.translation or old_translation:
        from medganbench.translate.report import render_translation_markdown

        out += [render_translation_markdown(collected.translation + old_translation, link_folder="submissions")]
        out += [f"- {md_text(name)}: protocol {md_text(r.get('protocol_version'))} (superseded: no `summary`; its "
                f"translation metrics are computed as in {PROTOCOL_VERSION}; re-evaluate the runs to get one)."
                for name, r in old_translation]
        out.append("")
    old_generation = [(n, r) for n, r in collected.superseded if r.get("task") != "translation"]
    if old_generation:
        out += render_superseded(old_generation, link_prefix)
    if collected.rejected:
        out += ["## Rejected submissions", ""]
        for name, problems in sorted(collected.rejected.items()):
            out.append(f"- {md_text(name)}:")
            out += [f"  - {md_text(p)}" for p in problems]
        out.append("")
    return "\n".join(out)


def render_superseded(superseded: list[tuple[str, dict]], link_prefix: str = "submissions/") -> list[str]:
    """Markdown lines listing results of older protocol versions: what they reported then, never a rank."""
    out = ["## Superseded results (generation)", "",
           (f"Evaluated under an older protocol and not comparable with protocol {PROTOCOL_VERSION}: protocol 1.0 "
            "ranked generators by domain FID alone, in a feature space that mostly encodes the class label, against "
            "a shifted floor, and its augmentation gain let the generator see all the labels (docs/benchmark.md). "
            "Shown as they were reported; re-run them to rank them."), "",
           "| protocol | task | model | submitter | budget | headline then | result |", "|---|---|---|---|---|---|---|"]
    for name, result in superseded:
        sub = result.get("submission") or {}
        if result.get("task") == "translation":
            from medganbench.translate.report import leaderboard_row

            t = leaderboard_row(result, name)
            head = f"{t['task']}: PSNR gain {_fmt(t['psnr_gain_mean'], 2)} dB over {t['best_baseline']} ({t['verdict']})"
            budget = f"{_fmt(t['steps'])} steps × {_fmt(t['seeds'])} seeds"
        else:
            row = row_from_result(result, name)
            head = f"domain FID {_fmt(row['domain_fid'], 2)}"
            budget = row["budget"] or "external"
        out.append(f"| {md_text(result.get('protocol_version'))} | {md_text(result.get('task'))} "
                   f"| {md_text((result.get('model') or {}).get('name'))} "
                   f"| {md_text(sub.get('author') or sub.get('name') or '–')} | {md_text(budget)} | {md_text(head)} "
                   f"| {md_link(name, name, link_prefix)} |")
    out.append("")
    return out


def render_csv(collected: Collected) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    superseded = [row_from_result(r, name) for name, r in collected.superseded if r.get("task") != "translation"]
    for row in collected.rows + superseded:
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in COLUMNS})
    return buf.getvalue()


def plot_fid_vs_gain(collected: Collected, path: str | Path) -> Path:
    """PNG: ranking score (x) against augmentation AUC gain with its 95 % interval (y), one marker per result.

    (The file keeps its 1.0 name, ``fid_vs_gain.png``; under protocol 2.0 the x axis is ``summary.score``.)
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=110)
    by_ds: dict[str, list[dict]] = {}
    for row in collected.rows:
        by_ds.setdefault(f"{row['dataset']} {row['size']}px · spec {row['eval_spec_hash'][:6]}", []).append(row)
    plotted, names = 0, set()
    for label, rows in sorted(by_ds.items()):
        pts = [r for r in rows if r["score"] is not None and r["augmentation_auc_gain"] is not None]
        if not pts:
            continue
        xs = [r["score"] for r in pts]
        ys = [r["augmentation_auc_gain"] for r in pts]
        lo = [y - r["augmentation_auc_gain_ci_low"] if r["augmentation_auc_gain_ci_low"] is not None else 0.0
              for y, r in zip(ys, pts)]
        hi = [r["augmentation_auc_gain_ci_high"] - y if r["augmentation_auc_gain_ci_high"] is not None else 0.0
              for y, r in zip(ys, pts)]
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", capsize=3, label=label)
        for r in pts:
            tag = str(r["model"]) + ("" if r["rank"] is not None else " (not ranked)")
            ax.annotate(tag, (r["score"], r["augmentation_auc_gain"]), fontsize=8, xytext=(4, 4),
                        textcoords="offset points")
            names.add((r["score_name"], r["lower_is_better"]))
        plotted += len(pts)
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    name, lower = next(iter(names)) if len(names) == 1 else ("summary.score", True)
    ax.set_xlabel(f"{name} ({'lower' if lower else 'higher'} = closer to real)")
    ax.set_ylabel("augmentation gain, test AUC, 95 % CI\n(generator trained on the subset)")
    ax.set_title("Does a better score buy a better classifier?")
    if plotted:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no result has both a score and an augmentation gain", ha="center", va="center",
                transform=ax.transAxes)
    fig.tight_layout()
    return save_figure(fig, path, close=True)


def build_leaderboard(root: str | Path = "leaderboard") -> dict[str, Path]:
    """Write ``root/LEADERBOARD.md``, ``root/leaderboard.csv`` and ``root/fid_vs_gain.png``."""
    root = Path(root)
    collected = collect(root / "submissions")
    md = atomic_write_text(root / "LEADERBOARD.md", render_markdown(collected))
    csv_path = atomic_write_text(root / "leaderboard.csv", render_csv(collected))
    png = plot_fid_vs_gain(collected, root / "fid_vs_gain.png")
    return {"markdown": md, "csv": csv_path, "plot": png, "n_ranked": collected.n_ranked,
            "n_unranked": len(collected.rows) - collected.n_ranked, "n_superseded": len(collected.superseded),
            "n_rejected": len(collected.rejected), "rejected": collected.rejected}


def check_submission(path: str | Path, samples: str | Path | None = None, *, rtol: float = DEFAULT_RTOL,
                     atol: float = DEFAULT_ATOL):
    """Every problem with a submission file, and (given ``samples``) what was recomputed and what was not.

    Returns a :class:`medganbench.bench.recompute.Verification`. Checks: JSON schema, internal consistency
    (hash, counts, an estimate inside its own interval), protocol version (:func:`validate_result`); then,
    given the samples file, :func:`medganbench.bench.recompute.verify_with_samples`: sha256, counts and
    shape, and EVERY value of the recomputable groups (domain, memorization). Groups that cannot be
    recomputed are listed in ``unverified`` with the reason.
    """
    from medganbench.bench.recompute import Verification, verify_with_samples

    try:
        result = load_result(path)
    except MedGanBenchError as exc:
        return Verification(problems=[str(exc)])
    problems = validate_result(result)
    if samples is None or problems:
        return Verification(problems=problems)
    return verify_with_samples(result, samples, rtol=rtol, atol=atol)


def validate_submission(path: str | Path, samples: str | Path | None = None, *, rtol: float = DEFAULT_RTOL,
                        atol: float = DEFAULT_ATOL) -> list[str]:
    """Every problem with a submission file (``[]`` = valid); see :func:`check_submission`."""
    return check_submission(path, samples, rtol=rtol, atol=atol).problems
