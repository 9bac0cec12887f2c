"""``medganbench dicom``: scan, prepare, preview and export DICOM (see docs/dicom.md)."""

from __future__ import annotations

import json
import sys

from medganbench.config import add_dataclass_arguments, dataclass_from_args


def _scan(args) -> int:
    from medganbench.data.dicom import scan

    result = scan(args.paths, recursive=not args.no_recursive, color=args.color, progress=sys.stderr.isatty())
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        print()
        return 0
    print(f"{result.n_files} file(s), {len(result.series)} image series, {len(result.skipped)} skipped, "
          f"{sum(result.non_image.values())} non-image object(s), {result.filesets} DICOMDIR file set(s)")
    print(f"{'series':16}  {'mod':6} {'slices':>6} {'matrix':>10}  {'photometric':13} {'decodable':10} transfer syntax")
    for s in result.series + result.undecodable:
        ok = "yes" if s.decodable else "no (extra)"
        print(f"{s.uid:16}  {s.modality:6} {s.n_slices:6d} {s.rows:>4}x{s.columns:<5}  {s.photometric:13} {ok:10} "
              f"{'; '.join(s.transfer_syntaxes)}")
    if result.undecodable:
        print(f"{len(result.undecodable)} series need a decoder: {result.undecodable[0].why_not.split(': ', 1)[-1]}")
    if result.non_image:
        print("non-image objects (skipped): " + ", ".join(f"{k} ×{v}" for k, v in sorted(result.non_image.items())))
    for sk in result.skipped:
        print(f"skipped {sk.path}: {sk.reason}")
    return 0


def _prepare(args) -> int:
    from medganbench.data.dicom_prepare import PrepareConfig, prepare

    cfg = dataclass_from_args(PrepareConfig, args)
    card = prepare(args.paths, args.out, cfg, progress=not args.quiet)
    n = card["n_samples"]
    print(f"wrote {args.out}: train {n['train']}, val {n['val']}, test {n['test']} images of "
          f"{cfg.size}x{cfg.size} from {len(card['series'])} series (card: {args.out[:-4]}.json)")
    bad = card.get("bad_slices", 0)
    if bad or card["skipped"]:
        print(f"note: {bad} slice(s) could not be decoded and were left out; {len(card['skipped'])} file(s) "
              f"skipped in all, each with its reason in the card's 'skipped' list", file=sys.stderr)
    if card["split"]["empty_splits"]:
        print(f"note: {', '.join(card['split']['empty_splits'])} split(s) empty: too few patients/series "
              f"to split without leakage", file=sys.stderr)
    return 0


def _preview(args) -> int:
    from medganbench.data.dicom import scan
    from medganbench.data.dicom_preview import preview_montage

    result = scan(args.paths)
    out = preview_montage(result, args.out, window=args.window, per_series=args.per_series,
                          max_series=args.max_series, min_slices=args.min_slices)
    print(f"wrote {out}")
    return 0


def _export(args) -> int:
    from medganbench.data.dicom_export import export_samples

    paths = export_samples(args.samples, args.out, run_id=args.run_id, modality=args.modality, limit=args.limit)
    print(f"wrote {len(paths)} synthetic DICOM file(s) to {args.out}")
    return 0


def _fetch(args) -> int:
    from medganbench.data.dicom_fetch import ALL_SERIES, COURSE_SERIES, fetch

    series = ALL_SERIES if args.all else (tuple(args.series) if args.series else COURSE_SERIES)
    counts = fetch(args.dest, base_url=args.base_url, series=series, progress=not args.quiet)
    print(f"{args.dest}: {counts['downloaded']} file(s) downloaded, {counts['present']} already there, "
          f"all sha256-checked; set MEDGANBENCH_DICOM={args.dest}")
    return 0


def add_commands(sub) -> None:
    from medganbench.data.dicom_prepare import PrepareConfig

    grp = sub.add_parser("dicom", help="real DICOM: scan folders, prepare a training set, preview, export synthetic DICOM")
    dsub = grp.add_subparsers(dest="dicom_command", metavar="SUBCOMMAND")
    dsub.required = True

    p = dsub.add_parser("scan", help="list the image series under folders; skipped files with reasons")
    p.add_argument("paths", nargs="+", metavar="DIR", help="folders or files (searched recursively)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    p.add_argument("--no-recursive", action="store_true", help="do not descend into sub-folders")
    p.add_argument("--color", choices=["convert", "skip"], default="convert", help="colour images: keep or skip")
    p.set_defaults(func=_scan)

    p = dsub.add_parser("fetch", help="download the course DICOM series, each file checked against its sha256")
    p.add_argument("--dest", required=True, help="folder to fill (created; files already there are checked)")
    p.add_argument("--base-url", default=None,
                   help="a mirror serving MANIFEST.csv's relative paths (URL/ct_dcmqa_ge_head/01.dcm)")
    p.add_argument("--series", nargs="+", default=None, metavar="NAME",
                   help="series folders to fetch (default: ct_dcmqa_ge_head mr_datalad_t1w_deflated)")
    p.add_argument("--all", action="store_true", help="every file of the course data, the tests' too")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_fetch)

    p = dsub.add_parser("prepare", help="DICOM series -> MedMNIST-layout npz + JSON card (split by patient)")
    p.add_argument("paths", nargs="+", metavar="DIR", help="folders or files (searched recursively)")
    p.add_argument("--out", required=True, help="output .npz (the card goes to the same name .json)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_dataclass_arguments(p, PrepareConfig, group_title="prepare options")
    p.set_defaults(func=_prepare)

    p = dsub.add_parser("preview", help="PNG montage of each series in its window")
    p.add_argument("paths", nargs="+", metavar="DIR")
    p.add_argument("--out", default="montage.png", help="PNG to write (default: montage.png)")
    p.add_argument("--window", default="auto", help="window name or 'centre,width' (default: auto)")
    p.add_argument("--per-series", type=int, default=8, help="slices shown per series (default: 8)")
    p.add_argument("--max-series", type=int, default=12, help="series shown at most (default: 12)")
    p.add_argument("--min-slices", type=int, default=1, help="hide series with fewer slices (default: 1)")
    p.set_defaults(func=_preview)

    p = dsub.add_parser("export", help="samples npz -> synthetic DICOM Secondary Capture files")
    p.add_argument("--samples", required=True, help="samples .npz (uint8 'images')")
    p.add_argument("--out", required=True, help="folder for the DICOM files")
    p.add_argument("--run-id", default="unknown", help="the generator's run id, stored in every file")
    p.add_argument("--modality", default="OT", help="Modality attribute (default: OT, 'other')")
    p.add_argument("--limit", type=int, default=None, help="export at most this many samples")
    p.set_defaults(func=_export)
