"""Small hand-made results for schema and leaderboard tests (no training, no metrics), built by the one builder."""

from __future__ import annotations

import copy

from medganbench.bench.result import PROTOCOL_VERSION, build_result, metric_group, skipped, spec_hash


def make_result(*, model="dcgan", fid=12.5, kid=0.01, gain=0.02, near=0.0, sample_count=1000, memorized=False,
                score=None, extractor_id="domain-pneumoniamnist-28-abc123", dataset="pneumoniamnist",
                size=28) -> dict:
    """A valid protocol-2.0 generation result; its summary score is ``score`` (default: ``fid``, so tests can
    reason with either), computed by the real summary rule from the domain group's ``kid_excess``."""
    excess = (fid if score is None else score) / 1000.0
    spec = {
        "protocol_version": PROTOCOL_VERSION, "dataset": dataset, "size": size, "reference_split": "test",
        "sample_count": sample_count,
        "extractors": {"domain": {"id": extractor_id, "weights_sha256": "0" * 64}},
        "preprocessing": {"domain": "uint8 grey, native size, scaled to [-1, 1]"},
        "seeds": {"eval": 0},
    }
    groups = {
        "domain": metric_group({"fid": fid, "kid_mean": kid, "kid_std": 0.001, "precision": 0.5, "recall": 0.4,
                                "recall_real": 0.6, "kid_excess": excess, "kid_excess_ci_low": 0.8 * excess,
                                "kid_excess_ci_high": 1.2 * excess, "n_fake": sample_count},
                               extractor_id=extractor_id, n_generated=sample_count, n_reference=624),
        "inception": skipped("Inception weights not available offline"),
        "memorization": metric_group({"near_copy_fraction": near, "memorized": memorized,
                                      "memorized_reason": "near copies of training images" if memorized else None},
                                     extractor_id=extractor_id, n_generated=sample_count, n_reference=4708),
        "augmentation": metric_group({"auc_gain_mean": gain, "auc_gain_std": 0.01}),
    }
    result = build_result(
        task="generation",
        dataset={"name": dataset, "size": size, "split": "train", "num_classes": 2, "channels": 1},
        model={"name": "placeholder", "config": {"steps": 10}, "conditional": False, "source": "medganbench",
               "parameter_count": {"generator": 100, "discriminator": 50, "total": 150}},
        training={"steps": 10, "images_seen": 640, "batch_size": 64, "wall_time_s": 3.2, "budget": "quick",
                  "run_dir": None},
        seeds={"train": 0, "sample": 0, "eval": 0},
        samples={"file": "samples.npz", "sha256": "a" * 64, "count": sample_count, "shape": [size, size, 1],
                 "labelled": False},
        eval_spec=spec, groups=groups)
    # set after building: the builder refuses invalid names, and some tests need a hostile one to reject
    result["model"]["name"] = model
    return result


def with_spec(result: dict, **spec_changes) -> dict:
    r = copy.deepcopy(result)
    r["eval_spec"].update(spec_changes)
    r["eval_spec_hash"] = spec_hash(r["eval_spec"])
    return r
