"""``medganbench translate``: train pix2pix/CycleGAN on a translation task, evaluate against baselines.

    medganbench translate tasks
    medganbench translate train --task denoise-mr --model pix2pix --steps 2000 --seed 0 --out runs/dn0 [--dicom DIR]
    medganbench translate eval --run runs/dn0 [runs/dn1 ...] --out runs/dn-eval

See docs/translation.md.
"""

from __future__ import annotations

import argparse


def add_commands(subparsers) -> None:
    from medganbench.config import add_dataclass_arguments
    from medganbench.translate.run import TranslateConfig

    parser = subparsers.add_parser("translate", help="image-to-image translation (pix2pix, CycleGAN)",
                                   description="Image-to-image translation tasks, models and baselines.")
    sub = parser.add_subparsers(dest="translate_command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("tasks", help="list the translation tasks")
    p.set_defaults(func=_tasks)

    p = sub.add_parser("train", help="train a translation model on a task")
    add_dataclass_arguments(p, TranslateConfig, group_title="training")
    p.add_argument("--out", required=True, help="run folder (resumes if it holds a shorter run)")
    p.add_argument("--dicom", default=None, help="DICOM folder for MR tasks (default: $MEDGANBENCH_DICOM)")
    p.add_argument("--data", default=None, help="MedMNIST folder (default: $MEDGANBENCH_DATA)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)

    p = sub.add_parser("eval", help="evaluate run(s) on the test split against the baselines -> result.json")
    p.add_argument("--run", nargs="+", required=True, help="run folder(s); several seeds of one task/model")
    p.add_argument("--out", required=True, help="folder for result.json, outputs.npz and montage.png")
    p.add_argument("--dicom", default=None, help="DICOM folder for MR tasks (default: $MEDGANBENCH_DICOM)")
    p.add_argument("--data", default=None, help="MedMNIST folder (default: $MEDGANBENCH_DATA)")
    p.add_argument("--no-judge", action="store_true",
                   help="unpaired task: skip the classifier and FID groups (they train the domain classifier once)")
    p.set_defaults(func=_eval)


def _tasks(args: argparse.Namespace) -> int:
    from medganbench.translate.tasks import TASKS

    for t in TASKS.values():
        print(f"{t.name:22s} {'paired' if t.paired else 'unpaired':9s} {t.default_model:9s} {t.summary}")
    return 0


def _folders(args: argparse.Namespace):
    """--dicom / --data, else the settings ``main`` read from the environment: passed down explicitly."""
    settings = getattr(args, "settings", None)
    dicom = args.dicom if args.dicom is not None else (settings.dicom if settings else None)
    data = args.data if args.data is not None else (settings.data if settings else None)
    return dicom, data


def _train(args: argparse.Namespace) -> int:
    from medganbench.config import dataclass_from_args
    from medganbench.translate.run import TranslateConfig, train_translation

    cfg = dataclass_from_args(TranslateConfig, args)
    dicom, data = _folders(args)
    state = train_translation(cfg, args.out, dicom=dicom, data_root=data,
                              progress=not args.no_progress)
    print(f"trained {state['step']} steps in {state['wall_time_s']:.1f} s; val L1 {state['val_l1']:.4f}; "
          f"run folder {args.out}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from medganbench.translate.evaluate import evaluate_translation
    from medganbench.translate.report import format_table

    dicom, data = _folders(args)
    result = evaluate_translation(args.run, args.out, dicom=dicom, data_root=data,
                                  judge=not args.no_judge)
    print(format_table(result))
    print(f"wrote {args.out}/result.json")
    return 0


