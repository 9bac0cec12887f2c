"""Read folders of real DICOM files: scan headers, group into series, sort slices, decode pixels.

Taught in ``notebooks/06_dicom_to_gan.ipynb``.

Two steps, so a large folder is cheap to survey:

1. :func:`scan` reads only headers (``stop_before_pixels``) of every file under the given paths
   (files with or without ``.dcm``; a ``DICOMDIR`` file set adds the files it references), groups
   image objects by series, orders each series along its slice normal, and records what it skipped
   and why. Nothing personal is kept: series, studies and patients are known by pseudonyms, a keyed
   HMAC of their UID / ID with a secret drawn per scan and never written anywhere
   (:mod:`medganbench.data.pseudonym`); names, IDs and dates are never stored.
2. :func:`load_series` decodes the pixels of one series into a ``float32`` volume ``(S, H, W)`` in
   physical units (Modality LUT applied: Hounsfield units for CT), MONOCHROME1 inverted, colour
   converted to grey, plus its geometry.

Slice order: the normal of a slice is the cross product of the row and column direction cosines of
``ImageOrientationPatient``; the sort key is ``ImagePositionPatient · normal``. This stays right for
tilted gantries and oblique stacks, where the raw z coordinate and ``InstanceNumber`` can mislead.
Spacing is reported per gap, never assumed constant. RT Dose grids take their frame positions from
``GridFrameOffsetVector``.

Geometric honesty: a "series" in DICOM need not be a volume. Slices are grouped into stacks of one
orientation (3-plane localisers and radial acquisitions split into several stacks, PS3.3 C.7.6.2);
one SOP instance stored in several files, or several files sharing a SOP Instance UID, is counted once
and the others are reported; uncompressed pixel data shorter than the header promises (a truncated
file) is reported at scan time, and :func:`load_series` can skip a slice that fails to decode.

Compressed transfer syntaxes (JPEG, JPEG-LS, JPEG 2000) need a decoder plugin: install them with
``pip install "medganbench[dicom]"``. Without one, such files are skipped with that message.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from medganbench.data.pseudonym import Pseudonymizer
from medganbench.data.windows import VoiLut
from medganbench.errors import MedGanBenchError

EXTRA_HINT = 'pip install "medganbench[dicom]"'
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
#: Two slices share an orientation when their six direction cosines differ by less than this.
ORIENTATION_TOL = 1e-3
#: Uncompressed transfer syntaxes whose pixel data length is fixed by the header (checked at scan time).
NATIVE_SYNTAXES = {"1.2.840.10008.1.2": "<", "1.2.840.10008.1.2.1": "<", "1.2.840.10008.1.2.2": ">"}
PIXEL_DATA_TAG = (0x7FE0, 0x0010)


@dataclass
class SliceRef:
    """One 2-D image: a single-frame file, or one frame of a multi-frame file.

    ``position``: signed distance along the slice normal in mm (None without geometry).
    ``path``, ``sop_uid`` and ``orientation`` stay in memory only; they are never written into a data set or card.
    """

    path: str
    frame: int | None
    position: float | None
    instance: int | None
    slope: float = 1.0
    intercept: float = 0.0
    orientation: tuple[float, ...] | None = None
    sop_uid: str = ""


@dataclass
class Series:
    """One stack of one image series as found by :func:`scan` (technical fields and pseudonyms only).

    A DICOM series whose slices have several orientations becomes several :class:`Series`, one per
    orientation (``stack`` k of ``stacks``; their ``uid`` is the series pseudonym plus ``.k``).
    """

    uid: str  # pseudonym of SeriesInstanceUID
    patient: str  # hash of PatientID, "unknown" when missing or removed
    study: str
    modality: str
    sop_class: str
    transfer_syntaxes: list[str]
    rows: int
    columns: int
    samples_per_pixel: int
    photometric: str
    bits_stored: int
    pixel_spacing: tuple[float, float] | None
    normal: tuple[float, float, float] | None
    slices: list[SliceRef] = field(default_factory=list)
    window: tuple[float, float] | None = None  # first WindowCenter/WindowWidth of the header
    voi_lut: VoiLut | None = None  # VOI LUT table of the header, when it has one
    decodable: bool = True
    why_not: str = ""  # why the pixels cannot be decoded here (then the files are in ``skipped``)
    stack: int = 1  # which orientation stack of the DICOM series this is (1-based)
    stacks: int = 1  # how many orientation stacks the DICOM series has
    duplicates: int = 0  # files of this series dropped as repeats of a SOP instance already indexed

    @property
    def n_slices(self) -> int:
        return len(self.slices)

    @property
    def positions(self) -> np.ndarray:
        """Slice positions along the normal in mm, in the sorted order (NaN where unknown)."""
        return np.array([np.nan if s.position is None else s.position for s in self.slices], dtype=float)

    @property
    def spacings(self) -> np.ndarray:
        """Gaps between consecutive slices along the normal in mm (may be uneven)."""
        return np.diff(self.positions)

    def summary(self) -> dict:
        """A JSON-ready description without paths or personal data."""
        pos = self.positions
        return {
            "series": self.uid, "patient": self.patient, "study": self.study, "modality": self.modality,
            "sop_class": self.sop_class, "transfer_syntaxes": self.transfer_syntaxes,
            "slices": self.n_slices, "rows": self.rows, "columns": self.columns,
            "samples_per_pixel": self.samples_per_pixel, "photometric": self.photometric,
            "pixel_spacing": list(self.pixel_spacing) if self.pixel_spacing else None,
            "extent_mm": float(np.nanmax(pos) - np.nanmin(pos)) if np.isfinite(pos).any() else None,
            "decodable": self.decodable, "why_not": self.why_not or None,
            "stack": self.stack, "stacks": self.stacks, "duplicates": self.duplicates,
        }


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class ScanResult:
    """What :func:`scan` found.

    ``series``: decodable image series. ``undecodable``: series whose files all need a decoder that
    is missing here (listed for the table; their files are also in ``skipped``). ``non_image``
    counts objects without pixels by SOP class name.
    """

    series: list[Series]
    skipped: list[Skipped]
    non_image: dict[str, int]
    n_files: int
    filesets: int = 0
    undecodable: list[Series] = field(default_factory=list)
    #: The scan's pseudonym function (its secret is never written out); ``prepare`` reuses it for file names.
    pseudonym: Pseudonymizer = field(default_factory=Pseudonymizer, repr=False, compare=False)

    def to_dict(self, with_paths: bool = True) -> dict:
        """JSON-ready; ``with_paths=False`` drops file paths (for cards written next to data)."""
        return {
            "files": self.n_files,
            "series": [s.summary() for s in self.series + self.undecodable],
            "skipped": [asdict(s) if with_paths else {"reason": s.reason} for s in self.skipped],
            "non_image": dict(self.non_image),
            "dicomdir_filesets": self.filesets,
        }


@dataclass
class Volume:
    """Decoded pixels of a series. ``pixels``: ``float32 (S, H, W)`` in physical units."""

    pixels: np.ndarray
    positions: np.ndarray  # (S,) mm along the normal, NaN when unknown
    pixel_spacing: tuple[float, float] | None
    modality: str
    window: tuple[float, float] | None
    #: Slices that failed to decode and were left out (``load_series(on_error="skip")``).
    dropped: list[Skipped] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Decoder availability (a function so tests can simulate a machine without the extra)


def decoder_available(transfer_syntax: str) -> bool:
    """True when pydicom can decode pixel data stored in this transfer syntax here."""
    from pydicom.pixels.decoders.base import get_decoder

    try:
        return bool(get_decoder(transfer_syntax).is_available)
    except NotImplementedError:
        return False


def _iter_files(paths: Iterable[str | os.PathLike], recursive: bool) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            walker = p.rglob("*") if recursive else p.glob("*")
            out.extend(sorted(f for f in walker if f.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            raise MedGanBenchError(f"{p} does not exist; give a folder or file of DICOM images.")
    return out


def _fileset_files(dicomdir: Path) -> list[Path]:
    from pydicom import dcmread
    from pydicom.fileset import FileSet

    fs = FileSet(dcmread(dicomdir))
    return [Path(inst.path) for inst in fs]


def _float_list(value, n: int) -> list[float] | None:
    try:
        vals = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return vals if len(vals) == n else None


def _frame_geometry(ds, frame: int | None):
    """(ImagePositionPatient, ImageOrientationPatient, slope, intercept) of one frame or file."""
    ipp = _float_list(ds.get("ImagePositionPatient"), 3)
    iop = _float_list(ds.get("ImageOrientationPatient"), 6)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    if "DoseGridScaling" in ds:  # RT Dose: stored integers times the grid scaling = Gy
        slope = float(ds.DoseGridScaling)
    if frame is not None and "GridFrameOffsetVector" in ds and ipp is not None and iop is not None:
        # RT Dose: frame k lies at GridFrameOffsetVector[k] along the normal (PS3.3 C.8.8.3.2). Offsets that
        # start at 0 are relative to ImagePositionPatient; otherwise they are absolute z (axial grids only).
        offsets = _float_list(ds.GridFrameOffsetVector, len(ds.GridFrameOffsetVector))
        if offsets and frame < len(offsets):
            if offsets[0] == 0:
                ipp = list(np.asarray(ipp) + offsets[frame] * slice_normal(iop))
            else:
                ipp = [ipp[0], ipp[1], offsets[frame]]
    if frame is not None:
        groups = []
        if "PerFrameFunctionalGroupsSequence" in ds and frame < len(ds.PerFrameFunctionalGroupsSequence):
            groups.append(ds.PerFrameFunctionalGroupsSequence[frame])
        if "SharedFunctionalGroupsSequence" in ds and len(ds.SharedFunctionalGroupsSequence):
            groups.append(ds.SharedFunctionalGroupsSequence[0])
        # Per-frame values win over shared ones; both win over the top level.
        for grp in reversed(groups):
            if "PlanePositionSequence" in grp:
                ipp = _float_list(grp.PlanePositionSequence[0].get("ImagePositionPatient"), 3) or ipp
            if "PlaneOrientationSequence" in grp:
                iop = _float_list(grp.PlaneOrientationSequence[0].get("ImageOrientationPatient"), 6) or iop
            if "PixelValueTransformationSequence" in grp:
                pvt = grp.PixelValueTransformationSequence[0]
                slope = float(pvt.get("RescaleSlope", slope) or slope)
                intercept = float(pvt.get("RescaleIntercept", intercept) or 0)
    return ipp, iop, slope, intercept


def slice_normal(orientation: Sequence[float]) -> np.ndarray:
    """Unit normal of a slice: cross product of the row and column direction cosines (6 values)."""
    row = np.asarray(orientation[:3], dtype=float)
    col = np.asarray(orientation[3:6], dtype=float)
    n = np.cross(row, col)
    norm = np.linalg.norm(n)
    return n / norm if norm > 0 else n


def _pixel_spacing(ds) -> tuple[float, float] | None:
    ps = _float_list(ds.get("PixelSpacing"), 2)
    for name in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        if ps is None and name in ds and len(ds[name].value):
            grp = ds[name].value[0]
            if "PixelMeasuresSequence" in grp:
                ps = _float_list(grp.PixelMeasuresSequence[0].get("PixelSpacing"), 2)
    return tuple(ps) if ps else None


def _first_window(ds) -> tuple[float, float] | None:
    """First WindowCenter/Width: top level, else the Frame VOI LUT of the (shared or first) functional group."""
    c, w = ds.get("WindowCenter"), ds.get("WindowWidth")
    for name in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        if (c is None or w is None) and name in ds and len(ds[name].value):
            grp = ds[name].value[0]
            if "FrameVOILUTSequence" in grp:
                item = grp.FrameVOILUTSequence[0]
                c, w = item.get("WindowCenter"), item.get("WindowWidth")
    if c is None or w is None:
        return None
    c = c[0] if hasattr(c, "__len__") and not isinstance(c, str) else c
    w = w[0] if hasattr(w, "__len__") and not isinstance(w, str) else w
    try:
        return float(c), float(w)
    except (TypeError, ValueError):
        return None


def _voi_lut(ds) -> VoiLut | None:
    """The first VOI LUT table (0028,3010) of the header, or None."""
    if "VOILUTSequence" not in ds or not len(ds.VOILUTSequence):
        return None
    item = ds.VOILUTSequence[0]
    try:
        n, first, bits = (int(v) for v in item.LUTDescriptor)
        data = item.LUTData
        table = np.frombuffer(data, dtype="<u2") if isinstance(data, (bytes, bytearray)) else np.asarray(data)
        n = n or 65536  # 0 means 2**16 entries (PS3.3 C.11.2.1.1)
        return VoiLut(first=first, bits=bits, table=tuple(int(v) for v in table[:n]))
    except (AttributeError, TypeError, ValueError):
        return None  # a malformed LUT falls back to the window values or a percentile window


def _sop_name(uid: str) -> str:
    from pydicom.uid import UID

    name = UID(uid).name if uid else ""
    return name or uid or "unknown SOP class"


def scan(paths: str | os.PathLike | Iterable[str | os.PathLike], recursive: bool = True,
         color: str = "convert", progress: bool = False, secret: bytes | None = None) -> ScanResult:
    """Index the DICOM files under ``paths`` (folders and/or files) without decoding pixels.

    ``color``: ``"convert"`` keeps RGB/YBR/palette images (they become grey in :func:`load_series`),
    ``"skip"`` skips them with a reason. Files that are not DICOM, are corrupt, or need a decoder
    that is not installed are listed in ``skipped`` with their path and the reason; objects without
    pixels (SR, RT plan, waveforms, ...) are counted in ``non_image``. Uncompressed pixel data shorter
    than the header promises, and a second file holding an already indexed SOP instance, are skipped
    with the reason. Series mixing orientations are split into one stack per orientation. The scan
    never stops on one bad file. Raises :class:`MedGanBenchError` when no usable image series is found.

    ``secret``: key of the pseudonyms (:class:`~medganbench.data.pseudonym.Pseudonymizer`); by default
    32 random bytes drawn for this scan and never written anywhere.
    """
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if color not in ("convert", "skip"):
        raise MedGanBenchError(f"color={color!r}: use 'convert' (to grey) or 'skip'.")
    files = _iter_files(paths, recursive)
    skipped: list[Skipped] = []
    non_image: Counter = Counter()
    groups: dict[tuple, Series] = {}
    blocked: dict[tuple, Series] = {}
    seen: set[Path] = set()
    filesets = 0
    ctx = _ScanContext(pseudonym=Pseudonymizer(secret))
    queue = list(files)
    iterator = queue
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(queue, desc="scan", unit="file")
    extra: list[Path] = []
    for path in iterator:
        extra.extend(_index_file(path, seen, groups, blocked, skipped, non_image, color, dcmread, InvalidDicomError,
                                 ctx))
    # Files referenced by a DICOMDIR but outside the scanned folders.
    for path in extra:
        _index_file(path, seen, groups, blocked, skipped, non_image, color, dcmread, InvalidDicomError, ctx)
    filesets = non_image.pop("__dicomdir__", 0)
    for gkey, s in [*groups.items(), *blocked.items()]:
        s.duplicates = ctx.duplicates[gkey[0]]
    series = [st for s in groups.values() for st in split_by_orientation(s)]
    # A series with some files decodable is usable; only wholly undecodable ones are listed apart.
    undecodable = [st for k, b in blocked.items() if k not in groups for st in split_by_orientation(b)]
    for s in series + undecodable:
        s.slices.sort(key=lambda r: (np.inf if r.position is None else r.position,
                                     r.instance if r.instance is not None else 0, r.frame or 0))
    series.sort(key=lambda s: (s.modality, -s.n_slices, s.uid))
    undecodable.sort(key=lambda s: (s.modality, -s.n_slices, s.uid))
    result = ScanResult(series=series, skipped=skipped, non_image=dict(non_image),
                        n_files=len(seen), filesets=filesets, undecodable=undecodable, pseudonym=ctx.pseudonym)
    if not series:
        where = ", ".join(str(p) for p in paths)
        detail = f"; skipped {len(skipped)} file(s), first: {skipped[0].path}: {skipped[0].reason}" if skipped else ""
        if not files:
            raise MedGanBenchError(f"No files under {where}. Point it at a folder of DICOM images.")
        raise MedGanBenchError(f"No usable DICOM image under {where} ({len(seen)} file(s) read{detail}).")
    return result


@dataclass
class _ScanContext:
    pseudonym: Pseudonymizer
    sop_files: dict = field(default_factory=dict)  # (SOPInstanceUID, decodable) -> first file holding it
    duplicates: Counter = field(default_factory=Counter)  # group key -> files dropped as repeats


def _same_bytes(a: str, b: str) -> bool:
    try:
        if os.path.getsize(a) != os.path.getsize(b):
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                ca, cb = fa.read(1 << 20), fb.read(1 << 20)
                if ca != cb:
                    return False
                if not ca:
                    return True
    except OSError:
        return False


def expected_pixel_bytes(ds) -> int:
    """Bytes of uncompressed pixel data the header promises: rows × columns × frames × samples × bits/8."""
    bits = int(ds.get("BitsAllocated", 16) or 16)
    n = int(ds.Rows) * int(ds.Columns) * int(ds.get("NumberOfFrames", 1) or 1) * int(ds.get("SamplesPerPixel", 1) or 1)
    return (n * bits + 7) // 8


def _pixel_data_problem(fh, pos: int, size: int, ds, ts: str) -> str:
    """Why the uncompressed pixel data at ``pos`` cannot hold what the header promises ("" when it can)."""
    if ts not in NATIVE_SYNTAXES:  # compressed (encapsulated) or deflated: the length is not known from the header
        return ""
    # The encoding the data set was actually read with (a file without meta information is guessed by pydicom).
    implicit, little = getattr(ds, "original_encoding", (ts == "1.2.840.10008.1.2", NATIVE_SYNTAXES[ts] == "<"))
    if implicit is None or little is None:
        return ""
    endian = "<" if little else ">"
    fh.seek(pos)
    head = fh.read(12)
    if len(head) < 8:
        return "the header promises pixel data but the file ends before it (truncated file)"
    group, elem = struct.unpack(endian + "HH", head[:4])
    if (group, elem) != PIXEL_DATA_TAG:
        return ""  # float pixel data or another layout: leave it to the decoder
    explicit = not implicit
    if explicit:
        length, header = struct.unpack(endian + "I", head[8:12])[0], 12
    else:
        length, header = struct.unpack(endian + "I", head[4:8])[0], 8
    if length == 0xFFFFFFFF:
        return ""
    want = expected_pixel_bytes(ds)
    have = min(length, max(size - pos - header, 0))
    if have < want:
        return (f"pixel data truncated: the header promises {want} bytes "
                f"({int(ds.Rows)}x{int(ds.Columns)}, {int(ds.get('NumberOfFrames', 1) or 1)} frame(s)), "
                f"the file holds {have}")
    return ""


def _index_file(path, seen, groups, blocked, skipped, non_image, color, dcmread, InvalidDicomError,
                ctx: _ScanContext) -> list[Path]:
    path = Path(path)
    key = path.resolve()
    if key in seen:
        return []
    seen.add(key)
    try:
        with open(path, "rb") as fh:
            ds = dcmread(fh, stop_before_pixels=True, force=True)
            pixel_pos, size = fh.tell(), os.fstat(fh.fileno()).st_size
            meta = getattr(ds, "file_meta", None) or {}
            truncated = ""
            if "Rows" in ds and "Columns" in ds:
                truncated = _pixel_data_problem(fh, pixel_pos, size, ds,
                                                str(meta.get("TransferSyntaxUID", "") or "1.2.840.10008.1.2"))
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError, AttributeError,
            struct.error) as exc:
        skipped.append(Skipped(str(path), f"not readable as DICOM ({type(exc).__name__}: {exc})"))
        return []
    meta = getattr(ds, "file_meta", None) or {}
    sop = str(ds.get("SOPClassUID", "") or meta.get("MediaStorageSOPClassUID", "") or "")
    if sop == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
        non_image["__dicomdir__"] += 1
        try:
            return _fileset_files(path)
        except Exception as exc:  # a broken DICOMDIR must not stop the scan of the folder
            skipped.append(Skipped(str(path), f"DICOMDIR not readable ({exc}); its folders are still scanned"))
            return []
    if len(ds) == 0 or ("SOPClassUID" not in ds and "Modality" not in ds and "Rows" not in ds):
        skipped.append(Skipped(str(path), "not a DICOM file (no DICOM header or data elements found)"))
        return []
    if "Rows" not in ds or "Columns" not in ds:
        non_image[_sop_name(sop)] += 1
        return []
    # No file meta (e.g. a bare dataset): pydicom then reads it as Implicit VR Little Endian.
    ts = str(meta.get("TransferSyntaxUID", "") or "1.2.840.10008.1.2")
    if truncated:
        skipped.append(Skipped(str(path), truncated))
        return []
    why_not = ""
    if not decoder_available(ts):
        from pydicom.uid import UID

        why_not = f"compressed pixel data ({UID(ts).name or ts}) needs a decoder: {EXTRA_HINT}"
        skipped.append(Skipped(str(path), why_not))
        groups = blocked
    sop_uid = str(ds.get("SOPInstanceUID", "") or "").strip()
    if sop_uid:
        # One SOP instance in several files (copies, re-encodings, a broken export reusing a UID) is one image:
        # the first decodable file is kept, the others are reported. Undecodable files never block a decodable one.
        first = ctx.sop_files.get((sop_uid, not why_not))
        if first is not None:
            what = ("an identical copy of a file already indexed" if _same_bytes(first, str(path)) else
                    "another file holds the same SOP Instance UID (the same image re-encoded, or a broken "
                    "export); the first file is kept")
            if not why_not:  # an undecodable file is already in ``skipped`` with the decoder hint
                skipped.append(Skipped(str(path), f"duplicate SOP instance: {what}"))
                ctx.duplicates[str(ds.get("SeriesInstanceUID", "")) or f"file:{key}"] += 1
            return []
        ctx.sop_files[(sop_uid, not why_not)] = str(path)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if color == "skip" and (spp > 1 or photometric == "PALETTE COLOR"):
        skipped.append(Skipped(str(path), f"colour image ({photometric}) skipped (color='skip')"))
        return []
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    frames: list[int | None] = list(range(n_frames)) if n_frames > 1 or "PerFrameFunctionalGroupsSequence" in ds else [None]
    instance = ds.get("InstanceNumber")
    instance = int(instance) if instance not in (None, "") else None
    refs, normal = [], None
    for f in frames:
        ipp, iop, slope, intercept = _frame_geometry(ds, f)
        position = None
        if ipp is not None and iop is not None:
            n = slice_normal(iop)
            normal = tuple(float(v) for v in n)
            position = float(np.dot(ipp, n))
        refs.append(SliceRef(str(path), f, position, instance, slope, intercept,
                             orientation=tuple(iop) if iop is not None and ipp is not None else None,
                             sop_uid=sop_uid))
    rows, cols = int(ds.Rows), int(ds.Columns)
    uid = str(ds.get("SeriesInstanceUID", "")) or f"file:{key}"
    # Matrix and colour layout are part of the key: one "series" must stack into one volume.
    gkey = (uid, rows, cols, spp)
    if gkey not in groups:
        groups[gkey] = Series(
            uid=ctx.pseudonym(uid), patient=ctx.pseudonym(ds.get("PatientID")),
            study=ctx.pseudonym(ds.get("StudyInstanceUID")),
            modality=str(ds.get("Modality", "") or "OT"), sop_class=_sop_name(sop), transfer_syntaxes=[],
            rows=rows, columns=cols, samples_per_pixel=spp, photometric=photometric,
            bits_stored=int(ds.get("BitsStored", 8) or 8), pixel_spacing=_pixel_spacing(ds), normal=normal,
            window=_first_window(ds), voi_lut=_voi_lut(ds), decodable=not why_not, why_not=why_not,
        )
    s = groups[gkey]
    from pydicom.uid import UID

    tsname = UID(ts).name or ts
    if tsname not in s.transfer_syntaxes:
        s.transfer_syntaxes.append(tsname)
    if s.normal is None:
        s.normal = normal
    s.slices.extend(refs)
    return []


def split_by_orientation(series: Series, tol: float = ORIENTATION_TOL) -> list[Series]:
    """One :class:`Series` per slice orientation (direction cosines equal within ``tol``).

    A 3-plane localiser becomes three stacks, a radial acquisition one stack per angle; slices
    without geometry form a stack of their own. A single-orientation series is returned unchanged.
    Stacks are ordered by size (largest first), then by orientation.
    """
    clusters: list[tuple[np.ndarray | None, list[SliceRef]]] = []
    for ref in series.slices:
        o = None if ref.orientation is None else np.asarray(ref.orientation, dtype=float)
        for c, members in clusters:
            if (c is None and o is None) or (c is not None and o is not None and np.abs(c - o).max() < tol):
                members.append(ref)
                break
        else:
            clusters.append((o, [ref]))
    if len(clusters) <= 1:
        return [series]
    clusters.sort(key=lambda c: (-len(c[1]), () if c[0] is None else tuple(np.round(c[0], 6))))
    out = []
    for k, (o, members) in enumerate(clusters, 1):
        normal = None if o is None else tuple(float(v) for v in slice_normal(o))
        out.append(dataclasses.replace(series, uid=f"{series.uid}.{k}", slices=list(members), normal=normal,
                                       transfer_syntaxes=list(series.transfer_syntaxes), stack=k,
                                       stacks=len(clusters)))
    return out


# --------------------------------------------------------------------------------------------
# Pixels


def _to_grey(arr: np.ndarray, ds) -> np.ndarray:
    """Colour frames (..., 3) or palette indices -> luminance (ITU-R BT.601 weights)."""
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
        # Palette LUT entries may be 16-bit; bring them to 8-bit scale.
        if arr.max() > 255:
            arr = arr / 257.0
    if arr.ndim >= 3 and arr.shape[-1] == 3:
        arr = arr.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return arr


def read_frames(path: str, frames: Sequence[int | None]) -> tuple[np.ndarray, object]:
    """Decode the given frames of one file -> (stored values ``(F, H, W)``, dataset)."""
    from pydicom import dcmread

    ds = dcmread(path, force=True)
    arr = ds.pixel_array
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    single = arr.ndim == (3 if spp > 1 else 2)
    if single:
        arr = arr[None]
    arr = _to_grey(arr, ds)
    idx = [0 if f is None else f for f in frames]
    if max(idx) >= max(n_frames, len(arr)):
        raise MedGanBenchError(f"{path}: frame {max(idx)} requested but the file has {len(arr)} frame(s).")
    return np.asarray(arr)[idx], ds


def load_series(series: Series, progress: bool = False, max_slices: int | None = None,
                on_error: str = "raise") -> Volume:
    """Decode a scanned series -> :class:`Volume` with ``pixels`` ``float32 (S, H, W)``.

    Values are physical: stored value × slope + intercept (Hounsfield units for CT; RT dose in
    Gy), per frame for enhanced multi-frame objects. MONOCHROME1 (white = low) is inverted so that
    bright means high signal everywhere. Colour images are converted to grey luminance.
    ``max_slices`` takes that many slices evenly spread over the series (to preview large series).
    ``on_error``: ``"raise"`` stops at the first file that cannot be decoded; ``"skip"`` leaves its
    slices out and lists the file and reason in ``Volume.dropped`` (then ``S`` may be smaller, even 0).
    """
    if on_error not in ("raise", "skip"):
        raise MedGanBenchError(f"on_error={on_error!r}: use 'raise' or 'skip'.")
    refs = series.slices
    if max_slices is not None and len(refs) > max_slices:
        refs = [refs[i] for i in np.linspace(0, len(refs) - 1, max_slices).round().astype(int)]
    by_file: dict[str, list[int]] = {}
    for i, r in enumerate(refs):
        by_file.setdefault(r.path, []).append(i)
    out = np.empty((len(refs), series.rows, series.columns), dtype=np.float32)
    ok = np.ones(len(refs), dtype=bool)
    dropped: list[Skipped] = []
    items = list(by_file.items())
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="decode", unit="file")
    for path, idxs in items:
        try:
            stored, ds = read_frames(path, [refs[i].frame for i in idxs])
            if stored.shape[1:] != out.shape[1:]:
                raise MedGanBenchError(f"{path}: decoded {stored.shape[1]}x{stored.shape[2]} pixels, the header "
                                       f"says {series.rows}x{series.columns}.")
        except Exception as exc:
            reason = str(exc) if isinstance(exc, MedGanBenchError) else \
                f"{path}: pixel data could not be decoded ({type(exc).__name__}: {exc})."
            if on_error == "raise":
                raise (exc if isinstance(exc, MedGanBenchError) else MedGanBenchError(reason)) from None
            dropped.append(Skipped(path, reason))
            ok[idxs] = False
            continue
        for j, i in enumerate(idxs):
            out[i] = stored[j].astype(np.float32) * refs[i].slope + refs[i].intercept
        if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
            bits = int(ds.get("BitsStored", 16))
            signed = int(ds.get("PixelRepresentation", 0)) == 1
            lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
            for i in idxs:
                a = np.array([lo, hi], dtype=np.float32) * refs[i].slope + refs[i].intercept
                out[i] = a.min() + a.max() - out[i]
    positions = np.array([np.nan if r.position is None else r.position for r in refs], dtype=float)
    return Volume(pixels=out[ok], positions=positions[ok], pixel_spacing=series.pixel_spacing,
                  modality=series.modality, window=series.window, dropped=dropped)
