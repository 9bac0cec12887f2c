"""``medganbench leaderboard validate|build``: check submissions and assemble LEADERBOARD.md."""

from __future__ import annotations

import argparse
import sys


def _validate(args: argparse.Namespace) -> int:
    from medganbench.leaderboard import check_submission

    bad = 0
    for path in args.files:
        report = check_submission(path, samples=args.samples, rtol=args.rtol, atol=args.atol)
        if report.problems:
            bad += 1
            n = len(report.problems)
            print(f"{path}: INVALID ({n} problem{'s' if n > 1 else ''})")
            for p in report.problems:
                print(f"  - {p}")
        elif args.samples:
            print(f"{path}: valid; recomputed from the samples file and matched: {len(report.verified)} values")
            for group, why in sorted(report.unverified.items()):
                print(f"  - unverified (shown as submitted): {group}: {why}")
        else:
            print(f"{path}: valid (schema and consistency; pass --samples to recompute the metrics)")
    return 1 if bad else 0


def _build(args: argparse.Namespace) -> int:
    from medganbench.leaderboard import build_leaderboard

    info = build_leaderboard(args.root)
    print(f"{info['n_ranked']} results ranked, {info['n_unranked']} not rankable (listed with their reasons), "
          f"{info['n_superseded']} superseded, {info['n_rejected']} rejected")
    for key in ("markdown", "csv", "plot"):
        print(f"wrote {info[key]}")
    for name, problems in info["rejected"].items():
        print(f"rejected {name}: " + "; ".join(problems), file=sys.stderr)
    return 1 if (args.strict and info["n_rejected"]) else 0


def add_commands(sub) -> None:
    p = sub.add_parser("leaderboard", help="validate submissions and build the leaderboard")
    lsub = p.add_subparsers(dest="leaderboard_command", metavar="ACTION")
    lsub.required = True
    v = lsub.add_parser("validate", help="check result.json files (schema, consistency, optional recomputation)")
    v.add_argument("files", nargs="+", metavar="FILE", help="result.json / submission files")
    v.add_argument("--samples", default=None, metavar="FILE.npz",
                   help="the samples file the result was computed from: recompute the metrics and compare")
    v.add_argument("--rtol", type=float, default=0.01, help="relative tolerance for recomputed metrics")
    v.add_argument("--atol", type=float, default=1e-3, help="absolute tolerance for recomputed metrics")
    v.set_defaults(func=_validate)
    b = lsub.add_parser("build", help="write LEADERBOARD.md, leaderboard.csv and fid_vs_gain.png")
    b.add_argument("--root", default="leaderboard", help="folder holding submissions/ (default: leaderboard)")
    b.add_argument("--strict", action="store_true", help="exit 1 when any submission is rejected")
    b.set_defaults(func=_build)
