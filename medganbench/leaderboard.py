"""The leaderboard: ``leaderboard/submissions/*.json`` (result files) -> ``LEADERBOARD.md``, a CSV and a plot.

Rules (docs/benchmark.md):
- a submission is a ``result.json`` (:mod:`medganbench.bench.result`); an invalid one is never ranked and is
  listed under "Rejected" with every problem;
- results are grouped per data set and size, then per ``eval_spec_hash``: two results with different evaluation
  specs (extractor weights, preprocessing, sample count, reference split, seeds) are never ranked together;
- within a table, rows are sorted by FID in the kit's domain feature space (lower is better; ties by KID).

Usage::

    problems = validate_submission("leaderboard/submissions/x.json", samples="x.npz")
    paths = build_leaderboard("leaderboard")   # {'markdown': ..., 'csv': ..., 'plot': ...}
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from medganbench.bench.result import load_result, validate_result
from medganbench.errors import MedGanBenchError
from medganbench.io import atomic_write_text, save_figure
from medganbench.mdtext import md_link, md_text

#: Columns of the CSV and (most of) the Markdown tables; values come from :func:`row_from_result`.
COLUMNS = ("dataset", "size", "eval_spec_hash", "rank", "model", "submitter", "source", "budget", "steps",
           "images_seen", "wall_time_s", "sample_count", "domain_fid", "domain_fid_ci_low", "domain_fid_ci_high",
           "domain_kid_mean", "domain_precision", "domain_recall", "inception_fid", "near_copy_fraction",
           "augmentation_auc_gain", "augmentation_auc_gain_std", "file")

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


def row_from_result(result: dict, file: str = "") -> dict:
    """One leaderboard row (flat dict, keys = :data:`COLUMNS`, missing values None)."""
    training = result.get("training") or {}
    model = result.get("model") or {}
    sub = result.get("submission") or {}
    return {
        "dataset": result["dataset"]["name"], "size": result["dataset"]["size"],
        "eval_spec_hash": result["eval_spec_hash"], "rank": None,
        "model": model.get("name"), "submitter": sub.get("author") or sub.get("name") or "",
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
        "file": file,
    }


def _sort_key(row: dict):
    inf = math.inf
    fid = row["domain_fid"]
    kid = row["domain_kid_mean"]
    return (fid if fid is not None else inf, kid if kid is not None else inf, str(row["model"]))


@dataclass
class Collected:
    rows: list[dict]
    rejected: dict[str, list[str]]  # file name -> problems
    translation: list[tuple[str, dict]] = field(default_factory=list)  # (file, valid translation result)


def collect(submissions: str | Path) -> Collected:
    """Read and validate every ``*.json`` under ``submissions``; rank valid ones within their spec group."""
    folder = Path(submissions)
    if not folder.is_dir():
        raise MedGanBenchError(f"No submissions folder at {folder}; put result.json files in it.")
    rows, rejected, translation = [], {}, []
    for path in sorted(folder.glob("*.json")):
        try:
            result = load_result(path)
        except MedGanBenchError as exc:
            rejected[path.name] = [str(exc)]
            continue
        problems = validate_result(result)
        if problems:
            rejected[path.name] = problems
            continue
        if result.get("task") == "translation":
            # Translation results have their own table (PSNR/SSIM against baselines), never ranked by FID.
            translation.append((path.name, result))
            continue
        rows.append(row_from_result(result, file=path.name))
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["size"], row["eval_spec_hash"]), []).append(row)
    ranked = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], -len(groups[k]), k[2])):
        group = sorted(groups[key], key=_sort_key)
        for i, row in enumerate(group, 1):
            row["rank"] = i
        ranked.extend(group)
    return Collected(ranked, rejected, translation)


def _fmt(v, digits=3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:.1f}"
        return f"{v:.{digits}f}"
    return str(v)


def render_markdown(collected: Collected, link_prefix: str = "submissions/") -> str:
    """The leaderboard as Markdown: one section per data set and size, one table per evaluation spec."""
    out = ["# medganbench leaderboard", "",
           "Generated by `medganbench leaderboard build` from `leaderboard/submissions/*.json`; do not edit by hand.",
           ("Rows are ranked by FID in the kit's domain feature space (lower is better). Results evaluated under "
           "different evaluation specs (extractor weights, preprocessing, sample count, reference split, seeds) "
           "are in separate tables and never ranked against each other. See docs/benchmark.md."), "",
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
            short = f"`{spec[:12]}`" if re.fullmatch(r"[0-9a-f]{12,64}", str(spec)) else md_text(spec[:12])
            out += [f"### Evaluation spec {short} ({md_text(n)} samples)", "",
                    ("| # | model | submitter | budget | steps | domain FID [95% CI] | domain KID | precision | recall "
                    f"| Inception FID{UNVERIFIED_MARK} | near copies | aug. gain (AUC){UNVERIFIED_MARK} | result |"),
                    "|---:|---|---|---|---:|---|---:|---:|---:|---:|---:|---|---|"]
            for r in rows:
                fid = md_text(_fmt(r["domain_fid"], 2))
                if r["domain_fid_ci_low"] is not None and r["domain_fid_ci_high"] is not None:
                    fid += f" [{md_text(_fmt(r['domain_fid_ci_low'], 2))}, {md_text(_fmt(r['domain_fid_ci_high'], 2))}]"
                gain = md_text(_fmt(r["augmentation_auc_gain"], 3))
                if r["augmentation_auc_gain"] is not None and r["augmentation_auc_gain_std"] is not None:
                    gain += f" ± {md_text(_fmt(r['augmentation_auc_gain_std'], 3))}"
                out.append(
                    f"| {r['rank']} | {md_text(r['model'])} | {md_text(r['submitter'] or '–')} "
                    f"| {md_text(r['budget'] or 'external')} "
                    f"| {md_text(_fmt(r['steps']))} | {fid} | {md_text(_fmt(r['domain_kid_mean'], 4))} "
                    f"| {md_text(_fmt(r['domain_precision']))} "
                    f"| {md_text(_fmt(r['domain_recall']))} | {md_text(_fmt(r['inception_fid'], 2))} "
                    f"| {md_text(_fmt(r['near_copy_fraction']))} "
                    f"| {gain} | {md_link(r['file'], r['file'], link_prefix)} |")
            out.append("")
    if collected.translation:
        from medganbench.translate.report import render_translation_markdown

        out += [render_translation_markdown(collected.translation, link_folder="submissions"), ""]
    if collected.rejected:
        out += ["## Rejected submissions", ""]
        for name, problems in sorted(collected.rejected.items()):
            out.append(f"- {md_text(name)}:")
            out += [f"  - {md_text(p)}" for p in problems]
        out.append("")
    return "\n".join(out)


def render_csv(collected: Collected) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in collected.rows:
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in COLUMNS})
    return buf.getvalue()


def plot_fid_vs_gain(collected: Collected, path: str | Path) -> Path:
    """PNG: domain FID (x) against augmentation AUC gain (y), one marker per result, per data set."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=110)
    by_ds: dict[str, list[dict]] = {}
    for row in collected.rows:
        by_ds.setdefault(f"{row['dataset']} {row['size']}px · spec {row['eval_spec_hash'][:6]}", []).append(row)
    plotted = 0
    for label, rows in sorted(by_ds.items()):
        pts = [r for r in rows if r["domain_fid"] is not None and r["augmentation_auc_gain"] is not None]
        if not pts:
            continue
        xs = [r["domain_fid"] for r in pts]
        ys = [r["augmentation_auc_gain"] for r in pts]
        errs = [r["augmentation_auc_gain_std"] or 0.0 for r in pts]
        ax.errorbar(xs, ys, yerr=errs, fmt="o", capsize=3, label=label)
        for r in pts:
            ax.annotate(str(r["model"]), (r["domain_fid"], r["augmentation_auc_gain"]), fontsize=8,
                        xytext=(4, 4), textcoords="offset points")
        plotted += len(pts)
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("FID, domain features (lower = closer to real)")
    ax.set_ylabel("augmentation gain, test AUC (real+synthetic − real)")
    ax.set_title("Does a better FID buy a better classifier?")
    if plotted:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no result has both FID and augmentation gain", ha="center", va="center",
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
    return {"markdown": md, "csv": csv_path, "plot": png, "n_ranked": len(collected.rows),
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
