"""What a person looks at after a benchmark: a sample grid PNG and a short Markdown report."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medganbench.io import atomic_write_text, save_figure


def save_sample_grid(images: np.ndarray, path: str | Path, labels: np.ndarray | None = None, *,
                     per_class: int = 8, max_images: int = 64, title: str | None = None,
                     class_names: list[str] | None = None) -> Path:
    """PNG grid of generated images, tiled by :func:`medganbench.viz.grid_array`.

    images: ``uint8`` ``(N, H, W)`` or ``(N, H, W, C)``; labels: optional ``(N,)``/``(N, 1)`` ints. With labels,
    one row per class (``per_class`` images each, class name on the left); else up to ``max_images`` images in
    a square-ish grid.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from medganbench.imageconv import require_uint8_nhwc
    from medganbench.viz import grid_array

    images = require_uint8_nhwc(images, "sample images")
    pad = 2
    names: list[str] = []
    if labels is not None and len(labels):
        lab = np.asarray(labels).reshape(len(labels), -1)[:, 0]
        classes = np.unique(lab)
        ncols = max(1, min(per_class, max(int((lab == c).sum()) for c in classes)))
        cells = np.zeros((len(classes) * ncols,) + images.shape[1:], np.uint8)  # short rows stay black
        for r, c in enumerate(classes):
            row = images[lab == c][:ncols]
            cells[r * ncols:r * ncols + len(row)] = row
            names.append(class_names[int(c)] if class_names and 0 <= int(c) < len(class_names)
                         else f"class {int(c)}")
    else:
        n = min(len(images), max_images)
        ncols = int(np.ceil(np.sqrt(n)))
        cells = images[:n]
    mosaic = grid_array(cells, ncols=ncols, pad=pad)
    nrows = int(np.ceil(len(cells) / ncols))
    fig, ax = plt.subplots(figsize=(ncols * 0.9 + 0.6, nrows * 0.9 + 0.4), dpi=100)
    ax.imshow(mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic, cmap="gray", vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_xticks([])
    h = images.shape[1]
    ax.set_yticks([pad + r * (h + pad) + h / 2 for r in range(len(names))], names, fontsize=8)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, close=True)


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def render_report(result: dict) -> str:
    """A short Markdown summary of a result: what was run, every metric group, what was skipped and why."""
    ds, model, training = result["dataset"], result["model"], result.get("training")
    lines = [f"# {model['name']} on {ds['name']} ({ds['size']}×{ds['size']})", "",
             f"- protocol {result['protocol_version']}, task {result['task']}, created {result['created']}",
             (f"- evaluation spec `{result['eval_spec_hash'][:12]}`: {result['eval_spec']['sample_count']} samples "
             f"against the `{result['eval_spec']['reference_split']}` split")]
    if training:
        lines.append(f"- training: budget `{training.get('budget')}`, {training['steps']} steps, "
                     f"{training['images_seen']} images seen, {training['wall_time_s']:.0f} s wall time")
    else:
        lines.append("- samples made outside the kit (no training record)")
    pc = model.get("parameter_count") or {}
    if pc.get("total") is not None:
        lines.append(f"- parameters: generator {pc.get('generator')}, discriminator {pc.get('discriminator')}")
    hw = result["hardware"]
    lines.append(f"- hardware: {hw.get('processor')} × {hw.get('cpu_count')} cores, accelerator "
                 f"{hw.get('accelerator') or 'none'}")
    lines.append("")
    summary = result.get("summary")
    if summary:
        ci = ""
        if summary.get("score_ci_low") is not None and summary.get("score_ci_high") is not None:
            ci = f" [{_fmt(summary['score_ci_low'])}, {_fmt(summary['score_ci_high'])}]"
        lines += ["## Summary", "",
                  (f"- score `{summary['score_name']}` = {_fmt(summary.get('score'))}{ci} "
                   f"({'lower' if summary.get('lower_is_better') else 'higher'} is better)"),
                  f"- rankable: **{'yes' if summary.get('rankable') else 'no'}**"]
        lines += [f"  - not ranked because {r}" for r in summary.get("reasons") or []]
        lines += [f"- warning: {w}" for w in summary.get("warnings") or []]
        lines.append("")
    gen = result["metrics"].get("generation")
    if gen:
        def v(group, key):
            g = gen.get(group) or {}
            return (g.get("values") or {}).get(key) if g.get("status") == "ok" else None

        lines += ["## Headline", "", "| what | value |", "|---|---:|",
                  (f"| domain FID [95% CI] | {_fmt(v('domain', 'fid'))} [{_fmt(v('domain', 'fid_ci_low'))}, "
                  f"{_fmt(v('domain', 'fid_ci_high'))}] |"),
                  f"| real-vs-real FID floor (same n) | {_fmt(v('domain', 'fid_floor'))} |",
                  f"| domain KID | {_fmt(v('domain', 'kid_mean'))} ± {_fmt(v('domain', 'kid_std'))} |",
                  f"| precision / recall | {_fmt(v('domain', 'precision'))} / {_fmt(v('domain', 'recall'))} |",
                  f"| Inception FID | {_fmt(v('inception', 'fid'))} |",
                  (f"| near-copy fraction | {_fmt(v('memorization', 'near_copy_fraction'))} "
                  f"(memorized: {_fmt(v('memorization', 'memorized'))}) |"),
                  (f"| augmentation AUC gain ({_fmt(v('augmentation', 'headline_regime'))}, generator trained on "
                  f"the subset) [95% CI], p | {_fmt(v('augmentation', 'auc_gain_mean'))} "
                  f"[{_fmt(v('augmentation', 'auc_gain_ci_low'))}, {_fmt(v('augmentation', 'auc_gain_ci_high'))}], "
                  f"p={_fmt(v('augmentation', 'auc_gain_p_value'))} |"),
                  f"| 100 % real ceiling (AUC) | {_fmt(v('augmentation', 'ceiling_auc_mean'))} |",
                  "", "Every value below; `–` = not computed (the reason is given).", ""]
    for groups in result["metrics"].values():
        for name, g in groups.items():
            lines.append(f"## {name}")
            lines.append("")
            if g.get("status") != "ok":
                lines += [f"Skipped: {g.get('reason')}", ""]
                continue
            meta = [f"{k}: {g[k]}" for k in ("extractor_id", "n_generated", "n_reference") if g.get(k) is not None]
            if meta:
                lines += ["_" + ", ".join(meta) + "_", ""]
            lines += ["| metric | value |", "|---|---:|"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in g["values"].items()]
            lines.append("")
    arts = result.get("artifacts") or {}
    pics = [(k, v) for k, v in arts.items() if v and str(v).endswith(".png")]
    for k, v in pics:
        lines += [f"![{k}]({v})", ""]
    return "\n".join(lines)


def write_report(result: dict, path: str | Path) -> Path:
    return atomic_write_text(path, render_report(result))
