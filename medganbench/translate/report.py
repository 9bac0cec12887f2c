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
    lines = [f"{task}  ({result['dataset']['name']}, {result['dataset']['size']} px, "
             f"{result['samples']['count']} test images)"]
    if "model" not in groups:
        for k, v in result_rows(result)[0].items():
            lines.append(f"  {k:40s} {v if isinstance(v, str) or v is None or isinstance(v, bool) else f'{v:.4f}'}")
        return "\n".join(lines)
    lines.append(f"  {'method':12s} {'PSNR dB':>16s} {'SSIM':>16s} {'MAE':>16s}")
    for row in result_rows(result):
        def cell(k):
            s = f"{row[k]:.4f}" if k != "psnr" else f"{row[k]:.2f}"
            if f"{k}_std" in row and row.get("n_seeds", 1) > 1:
                s += f" ± {row[f'{k}_std']:.4f}" if k != "psnr" else f" ± {row[f'{k}_std']:.2f}"
            return s
        lines.append(f"  {row['method']:12s} {cell('psnr'):>16s} {cell('ssim'):>16s} {cell('mae'):>16s}")
    g = groups["gain"]["values"]
    lines.append(f"  gain over best baseline ({g['best_baseline']}): PSNR {g['psnr_gain_mean']:+.2f} ± "
                 f"{g['psnr_gain_std']:.2f} dB, SSIM {g['ssim_gain_mean']:+.4f}, MAE {g['mae_gain_mean']:+.4f} "
                 f"over {g['n_seeds']} seed(s): {g['verdict']}")
    return "\n".join(lines)
