"""Plain-text tables of translation results (the CLI prints them; notebook 07 shows them as tables)."""

from __future__ import annotations


def result_rows(result: dict) -> list[dict]:
    """One row per method (model first, then baselines) with the values of a translation result.

    Paired tasks: ``{"method", "psnr", "ssim", "mae"}`` (+ ``*_std`` for the model). Unpaired:
    the groups' values flattened as ``group.value``.
    """
    groups = result["metrics"]["translation"]
    if "model" in groups:
        rows = [{"method": result["model"]["name"], **groups["model"]["values"]}]
        for name, g in groups.items():
            if name.startswith("baseline_") and g["status"] == "ok":
                rows.append({"method": name[len("baseline_"):], **g["values"]})
        return rows
    row = {"method": result["model"]["name"]}
    for name, g in groups.items():
        if g["status"] == "ok":
            row.update({f"{name}.{k}": v for k, v in g["values"].items()})
        else:
            row[f"{name}"] = f"skipped: {g['reason']}"
    return [row]


def format_table(result: dict) -> str:
    """Model and baselines side by side (PSNR dB, SSIM, MAE), then the gain and the verdict."""
    groups = result["metrics"]["translation"]
    task = result["model"]["config"].get("translation_task", "")
    header = (f"{task}  ({result['dataset']['name']}, {result['dataset']['size']} px, "
              f"{result['samples']['count']} test images)")
    lines = [header]
    if "model" not in groups:
        for k, v in result_rows(result)[0].items():
            lines.append(f"  {k:40s} {v if isinstance(v, str) or v is None or isinstance(v, bool) else f'{v:.4f}'}")
        return "\n".join(lines)
    lines.append(f"  {'method':12s} {'PSNR dB':>16s} {'SSIM':>16s} {'MAE':>16s}")
    def cell(row, k):
        s = f"{row[k]:.4f}" if k != "psnr" else f"{row[k]:.2f}"
        if f"{k}_std" in row and row.get("n_seeds", 1) > 1:
            s += f" ± {row[f'{k}_std']:.4f}" if k != "psnr" else f" ± {row[f'{k}_std']:.2f}"
        return s

    for row in result_rows(result):
        lines.append(f"  {row['method']:12s} {cell(row, 'psnr'):>16s} {cell(row, 'ssim'):>16s} {cell(row, 'mae'):>16s}")
    g = groups["gain"]["values"]
    lines.append(f"  gain over best baseline ({g['best_baseline']}): PSNR {g['psnr_gain_mean']:+.2f} ± "
                 f"{g['psnr_gain_std']:.2f} dB, SSIM {g['ssim_gain_mean']:+.4f}, MAE {g['mae_gain_mean']:+.4f} "
                 f"over {g['n_seeds']} seed(s): {g['verdict']}")
    return "\n".join(lines)


def leaderboard_row(result: dict, file: str = "") -> dict:
    """One row of the leaderboard's translation table (flat dict, constant keys, missing values None).

    Keys: task, dataset, size, eval_spec_hash, model, steps, seeds, psnr, psnr_std, ssim, mae,
    best_baseline, baseline_psnr, psnr_gain_mean, psnr_gain_std, verdict, cycle_mae,
    translated_classified_normal_fraction, input_classified_normal_fraction, fid_to_target, file.
    """
    groups = result["metrics"]["translation"]

    def val(group, key):
        g = groups.get(group) or {}
        return (g.get("values") or {}).get(key) if g.get("status") == "ok" else None

    best = val("gain", "best_baseline")
    return {
        "task": (result["model"].get("config") or {}).get("translation_task"),
        "dataset": result["dataset"]["name"], "size": result["dataset"]["size"],
        "eval_spec_hash": result["eval_spec_hash"], "model": result["model"]["name"],
        "steps": (result.get("training") or {}).get("steps"), "seeds": val("model", "n_seeds") or val("cycle", "n_seeds"),
        "psnr": val("model", "psnr"), "psnr_std": val("model", "psnr_std"), "ssim": val("model", "ssim"),
        "mae": val("model", "mae"), "best_baseline": best,
        "baseline_psnr": val(f"baseline_{best}", "psnr") if best else None,
        "psnr_gain_mean": val("gain", "psnr_gain_mean"), "psnr_gain_std": val("gain", "psnr_gain_std"),
        "verdict": val("gain", "verdict"), "cycle_mae": val("cycle", "mae"),
        "translated_classified_normal_fraction": val("classifier", "translated_classified_normal_fraction"),
        "input_classified_normal_fraction": val("classifier", "input_classified_normal_fraction"),
        "fid_to_target": val("fid_to_target", "fid"), "file": file,
    }


def render_translation_markdown(results: list[tuple[str, dict]], link_folder: str | None = None) -> str:
    """The leaderboard's translation table(s) as Markdown: one table per task, model beside its best baseline.

    results: ``[(file name, result dict), ...]`` of valid ``task: "translation"`` results.
    link_folder: when given, each file name links to ``link_folder/<file>`` (the leaderboard passes
    ``"submissions"``).
    """
    def f(v, d=2):
        return "–" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))

    from medganbench.mdtext import md_link, md_text

    def link(name):
        return md_link(name, name, f"{link_folder}/") if link_folder else md_text(name)

    rows = [leaderboard_row(r, name) for name, r in results if r.get("task") == "translation"]
    out = ["## Image-to-image translation", ""]
    if not rows:
        return "\n".join(out + ["_No translation results yet._", ""])
    for task in sorted({str(r["task"]) for r in rows}):
        group = [r for r in rows if str(r["task"]) == task]
        out += [f"### {md_text(task)} ({md_text(group[0]['dataset'])}, {md_text(group[0]['size'])} px)", ""]
        if group[0]["psnr"] is not None:
            out += ["| model | steps | seeds | PSNR dB | SSIM | MAE | best baseline | its PSNR | gain dB | verdict | result |",
                    "|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|"]
            for r in sorted(group, key=lambda r: -(r["psnr"] or 0)):
                gain = f(r["psnr_gain_mean"])
                if r["psnr_gain_std"] is not None:
                    gain += f" ± {f(r['psnr_gain_std'])}"
                out.append(f"| {md_text(r['model'])} | {md_text(f(r['steps']))} | {md_text(f(r['seeds']))} "
                           f"| {md_text(f(r['psnr']))} | {md_text(f(r['ssim'], 3))} "
                           f"| {md_text(f(r['mae'], 4))} | {md_text(r['best_baseline'])} | {md_text(f(r['baseline_psnr']))} "
                           f"| {md_text(gain)} | {md_text(r['verdict'])} | {link(r['file'])} |")
        else:
            out += ["| model | steps | seeds | cycle MAE | classified normal (translated) | (input) | FID to normal | result |",
                    "|---|---:|---:|---:|---:|---:|---:|---|"]
            for r in group:
                out.append(f"| {md_text(r['model'])} | {md_text(f(r['steps']))} | {md_text(f(r['seeds']))} "
                           f"| {md_text(f(r['cycle_mae'], 4))} "
                           f"| {md_text(f(r['translated_classified_normal_fraction'], 3))} "
                           f"| {md_text(f(r['input_classified_normal_fraction'], 3))} | {md_text(f(r['fid_to_target']))} "
                           f"| {link(r['file'])} |")
        out.append("")
    return "\n".join(out)
