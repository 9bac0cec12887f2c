"""The ``medganbench`` command line.

Each command group lives in its own module (``cli/data.py``, ``cli/train.py``, ...) with an
``add_commands(subparsers)`` function; every leaf command sets ``func`` (called with the parsed
args, returns an exit code). Options of training/benchmark commands are built from the config
dataclasses (:func:`medganbench.config.add_dataclass_arguments`), so flags and configs agree.

Errors the kit raises on purpose (:class:`MedGanBenchError`) are printed as one sentence on
stderr with exit code 2, and so are operating-system errors (``OSError``: read-only or full disk,
permissions), naming the path; Ctrl-C exits with 130 after the command has saved what it can.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from medganbench import __version__
from medganbench.errors import MedGanBenchError

# Order = order in --help. A module that does not exist yet is skipped.
COMMAND_MODULES = ("data", "train", "bench", "dicom", "translate", "leaderboard", "course")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medganbench",
        description="GANs on medical images: data, training, evaluation, benchmark and leaderboard.",
    )
    parser.add_argument("--version", action="version", version=f"medganbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        modname = f"medganbench.cli.{name}"
        if importlib.util.find_spec(modname) is None:
            continue
        importlib.import_module(modname).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from medganbench.settings import Settings

        args.settings = Settings.from_env()  # the CLI's edge: MEDGANBENCH_* read once, bad values refused here
        return int(args.func(args) or 0)
    except MedGanBenchError as exc:
        print(f"medganbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("medganbench: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # read-only or full disk, permissions: one line naming the path, no traceback
        from medganbench.outdir import describe_os_error

        print(f"medganbench: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
