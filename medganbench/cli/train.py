"""``medganbench train`` and ``medganbench sample`` (flags of ``train`` come from TrainConfig)."""

from __future__ import annotations


def _parse_set(items) -> dict:
    from medganbench.errors import ConfigError

    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE (a model config key), got {item!r}")
        out[key.strip().replace("-", "_")] = value
    return out


def model_overrides(model: str, items) -> dict:
    """``--set KEY=VALUE`` items -> model config overrides, validated and coerced to the fields' types now,
    so a typo fails before any data loads (shared by ``train`` and ``bench``)."""
    overrides = _parse_set(items)
    if overrides:
        from medganbench.config import from_dict, to_dict
        from medganbench.models import make_config, model_class

        make_config(model, **overrides)
        known = to_dict(from_dict(model_class(model).config_class, overrides))
        overrides = {k: known[k] for k in overrides}
    return overrides


def _train(args) -> int:
    from medganbench.config import dataclass_from_args
    from medganbench.train import TrainConfig, run_training

    config = dataclass_from_args(TrainConfig, args)
    overrides = model_overrides(config.model, args.set)
    result = run_training(config, overrides)
    if result.interrupted:
        return 130
    print(f"run folder: {result.run_dir}")
    return 0


def _sample(args) -> int:
    from medganbench.samples import generate_samples, parse_labels, save_samples

    images, labels = generate_samples(args.run, args.n, labels=parse_labels(args.labels), seed=args.seed,
                                      batch_size=args.batch_size, ema=not args.raw)
    path = save_samples(args.out, images, labels)
    print(f"wrote {len(images)} images {images.shape[1:]} to {path}")
    return 0


def add_commands(sub) -> None:
    from medganbench.config import add_dataclass_arguments
    from medganbench.train import TrainConfig

    p = sub.add_parser("train", help="train a GAN on a data set (writes a run folder)",
                       description="Train a GAN. Model hyper-parameters: --set KEY=VALUE (e.g. --set loss=hinge).")
    add_dataclass_arguments(p, TrainConfig, group_title="training")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="model config override, repeatable (e.g. --set latent_dim=64 --set loss=hinge)")
    p.set_defaults(func=_train)

    s = sub.add_parser("sample", help="generate a samples file from a run folder")
    s.add_argument("--run", required=True, help="run folder written by `medganbench train`")
    s.add_argument("--n", type=int, default=10000, help="number of images (default: 10000)")
    s.add_argument("--labels", default=None,
                   help="conditional runs: classes to cycle through, e.g. 0,1 (default: training class balance)")
    s.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    s.add_argument("--batch-size", type=int, default=256, help="generation batch size (default: 256)")
    s.add_argument("--raw", action="store_true", help="use the raw generator instead of the EMA one")
    s.add_argument("--out", required=True, help="samples .npz to write")
    s.set_defaults(func=_sample)
