"""Train one domain extractor, deterministically, in a process of its own.

``python -m medganbench.metrics.train_extractor --dataset pneumoniamnist --size 28 --seed 0
--method vicreg --recipe '{...}' --out FOLDER [--root DATA_DIR]`` writes ``FOLDER/weights.npz`` and
``FOLDER/meta.json`` (see :mod:`medganbench.metrics.domain`, which calls :func:`train_in_subprocess`).

Why a separate process: bit-reproducible training needs ``tf.config.experimental.enable_op_determinism()``,
which TensorFlow cannot switch off again, and Keras' global seeding. Doing either inside a student's
notebook would change how their own models train behind their back; a child process keeps both to itself.
Two trainings with the same data, recipe and seed on the same kind of machine give the same weight
arrays, hence the same ``weights_sha256`` and the same ``eval_spec_hash`` (tests/test_metrics_domain.py).
Another CPU type or TensorFlow build may round differently: that is why the PneumoniaMNIST-28 reference
weights ship inside the package.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from medganbench.errors import MedGanBenchError


def batched_features(model, images: np.ndarray, batch: int = 512) -> np.ndarray:
    """``uint8 (N, H, W, C)`` -> ``float64 (N, D)`` through a Keras model taking ``float32 [-1, 1]``."""
    from medganbench.imageconv import require_uint8_nhwc, to_float

    x = to_float(require_uint8_nhwc(images))
    return np.concatenate([np.asarray(model(x[i:i + batch], training=False)) for i in range(0, len(x), batch)]
                          ).astype(np.float64)


def _probe(train_f, train_y, val_f, val_y, task: str) -> dict:
    """A linear probe (logistic regression) on the features: does the space know the labels too?"""
    if task == "multi-label":
        return {"auc": None, "acc": None, "balanced_acc": None}
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from medganbench.classifier import metrics_from_scores

    scaler = StandardScaler().fit(train_f)
    y = np.asarray(train_y).reshape(len(train_y), -1)[:, 0]
    clf = LogisticRegression(max_iter=2000).fit(scaler.transform(train_f), y)
    return metrics_from_scores(np.asarray(val_y), clf.predict_proba(scaler.transform(val_f)), task)


def train(dataset: str, size: int, method: str, recipe: dict, seed: int, out: Path, root=None) -> dict:
    """Train, write ``out/weights.npz`` + ``out/meta.json``, return the meta. Run only in a child process."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    from medganbench.classifier import ClassifierRecipe, train_classifier
    from medganbench.data import load_dataset
    from medganbench.io import atomic_write_text
    from medganbench.metrics.encoder import EncoderRecipe, feature_model, train_encoder
    from medganbench.metrics.extractor_identity import EXTRACTOR_VERSION, dataset_key, extractor_id
    from medganbench.metrics.spectrum import effective_dim
    from medganbench.metrics.weightfile import save_weights

    train_ds = load_dataset(dataset, "train", size=size, root=root)
    val_ds = load_dataset(dataset, "val", size=size, root=root)
    task = train_ds.card.get("task", "multi-class")
    out.mkdir(parents=True, exist_ok=True)
    extra: dict = {}
    if method == "vicreg":
        rec = EncoderRecipe(**recipe)
        encoder, head, history, seconds = train_encoder(train_ds.images, rec, seed,
                                                        log=lambda line: print(line, flush=True))
        arrays = encoder.get_weights() + head.get_weights()
        model = feature_model(encoder, head, rec)
        dim = rec.dim
    elif method == "classifier":
        rec = ClassifierRecipe(**recipe)
        key = None if str(dataset).endswith(".npz") else dataset_key(dataset)
        clf = train_classifier(train_ds.images, train_ds.labels, val_ds.images, val_ds.labels, rec, seed, task=task,
                               num_classes=train_ds.num_classes, dataset=key, progress=False)
        arrays, history, seconds = clf.model.get_weights(), clf.history, clf.seconds
        model = _classifier_feature_model(clf.model)
        dim = 4 * rec.width
        best = next((h for h in clf.history if h["step"] == clf.best_step), {})
        extra = {"num_classes": int(clf.num_classes), "flips": clf.flips, "best_step": int(clf.best_step),
                 "classifier_val_metrics": {k[4:]: v for k, v in best.items() if k.startswith("val_")}}
    else:
        raise MedGanBenchError(f"unknown extractor method {method!r}; choose vicreg or classifier.")
    train_f = batched_features(model, train_ds.images)
    sha = save_weights(out / "weights.npz", arrays)
    meta = {
        "id": extractor_id(dataset, size, rec, seed), "method": method, "dataset": dataset_key(dataset),
        "size": int(size), "seed": int(seed), "recipe": rec.to_dict(), "task": task,
        "image_shape": list(train_ds.images.shape[1:]), "dim": int(dim), "num_classes": int(train_ds.num_classes),
        "effective_dim": effective_dim(train_f), "effective_dim_split": "train",
        "val_metrics": _probe(train_f, train_ds.labels, batched_features(model, val_ds.images), val_ds.labels, task),
        "val_metrics_how": "linear probe (logistic regression on standardised features, train -> val)",
        "history": history, "train_seconds": round(seconds, 2), "weights_sha256": sha,
        "weights_hash": "sha256 over (dtype, shape, bytes) of each weight array in model order",
        "deterministic": "tf.config.experimental.enable_op_determinism() in a child process",
        "tensorflow": tf.__version__, "version": EXTRACTOR_VERSION, "created_unix": int(time.time()), **extra,
    }
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=2))
    return meta


def _classifier_feature_model(model):
    from medganbench.classifier import _keras

    keras = _keras()
    return keras.Model(model.input, model.get_layer("features").output)


def train_in_subprocess(dataset: str, size: int, method: str, recipe: dict, seed: int, out: Path, root=None,
                        progress: bool = True, desc: str = "domain extractor") -> None:
    """Run :func:`train` in a child Python (same interpreter, same ``sys.path``); raise with its stderr on failure."""
    cmd = [sys.executable, "-m", "medganbench.metrics.train_extractor", "--dataset", str(dataset), "--size",
           str(int(size)), "--method", method, "--recipe", json.dumps(recipe), "--seed", str(int(seed)),
           "--out", str(out)]
    if root is not None:
        cmd += ["--root", str(root)]
    env = dict(os.environ)
    # The child must import this very medganbench (a worktree or an editable install alike).
    pkg_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if progress:
        print(f"{desc}: training in a child process (deterministic; a few minutes on 2 CPU cores) ...",
              file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:  # one line per epoch
        if progress:
            print(f"{desc}: {line.rstrip()}", file=sys.stderr, flush=True)
    err = proc.stderr.read()
    if proc.wait() != 0:
        tail = "\n".join(err.strip().splitlines()[-15:])
        raise MedGanBenchError(f"training the {desc} failed (exit {proc.returncode}):\n{tail}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m medganbench.metrics.train_extractor", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--method", choices=("vicreg", "classifier"), default="vicreg")
    p.add_argument("--recipe", default="{}", help="JSON of the recipe's fields")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--root", default=None)
    p.add_argument("--check-shipped", action="store_true",
                   help="compare the trained weights' hash with the shipped extractor of the same id (exit 1 if "
                        "they differ): does a retrain on this machine reproduce the shipped weights?")
    a = p.parse_args(argv)
    meta = train(a.dataset, a.size, a.method, json.loads(a.recipe), a.seed, a.out, root=a.root)
    print(f"done: {meta['id']} weights_sha256={meta['weights_sha256']} effective_dim={meta['effective_dim']} "
          f"train_seconds={meta['train_seconds']}", flush=True)
    if a.check_shipped:
        from medganbench.metrics.extractor_identity import shipped_extractors

        folder = shipped_extractors().get(meta["id"])
        if folder is None:
            print(f"no shipped extractor has id {meta['id']}", flush=True)
            return 1
        shipped = json.loads((folder / "meta.json").read_text())["weights_sha256"]
        same = shipped == meta["weights_sha256"]
        print(f"shipped weights_sha256={shipped}: {'REPRODUCED' if same else 'DIFFERENT'}", flush=True)
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
