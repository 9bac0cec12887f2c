"""Load any 2D MedMNIST data set as uint8 arrays, downloading it the way medmnist does.

Files are medmnist's own (``{flag}.npz``, ``{flag}_64.npz``, ...) in medmnist's folder layout,
so a file downloaded by ``medmnist`` is found here and vice versa. Reading needs only numpy;
the download is a small urllib client driven by medmnist's ``INFO`` (URL + MD5), with a
connect timeout and a progress bar, because medmnist's own ``download()`` imports torchvision
(crashes next to TensorFlow) and has no timeout.

Set ``MEDGANBENCH_MEDMNIST_URL_BASE`` to download ``<base>/<file>.npz`` from a mirror instead of
Zenodo.

Root folder: the ``root`` argument, else ``$MEDGANBENCH_DATA``, else medmnist's default
(``~/.medmnist``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medganbench.data import catalog
from medganbench.errors import DatasetUnavailable, MedGanBenchError
from medganbench.settings import Settings

SPLITS = ("train", "val", "test")
DOWNLOAD_TIMEOUT_S = 10.0
URL_BASE_ENV = Settings.variable("medmnist_url_base")  # the name, for messages and tests


@dataclass
class Dataset:
    """Images and labels of one split, plus the data set card.

    images: ``uint8`` array ``(N, H, W, C)`` (C = 1 or 3), values in ``[0, 255]``.
    labels: ``int64`` array ``(N, L)`` as MedMNIST stores them (L = 1 except multi-label sets).
    """

    images: np.ndarray
    labels: np.ndarray
    card: dict = field(default_factory=dict)
    split: str = "train"

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return int(self.card.get("num_classes", int(self.labels.max()) + 1 if len(self.labels) else 0))


def resolve_root(root: str | os.PathLike | None = None, settings: Settings | None = None) -> Path:
    """The folder that holds (or will hold) the npz files: ``root``, else ``settings.data``
    (``$MEDGANBENCH_DATA`` when no settings are given), else medmnist's default."""
    if root is not None:
        return Path(root).expanduser()
    data = (settings or Settings.from_env()).data
    if data is not None:
        return data
    return Path(catalog.default_root())


def expected_path(flag: str, size: int = 28, root: str | os.PathLike | None = None) -> Path:
    return resolve_root(root) / catalog.file_name(flag, size)


def is_available(flag: str, size: int = 28, root=None) -> bool:
    return expected_path(flag, size, root).is_file()


def _check_flag(flag: str) -> None:
    if flag not in catalog.info() or flag.endswith("3d"):
        import difflib

        close = difflib.get_close_matches(flag, catalog.medmnist_2d_flags(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise MedGanBenchError(
            f"{flag!r} is not a 2D MedMNIST data set.{hint} "
            f"Known: {', '.join(catalog.medmnist_2d_flags())}."
        )


def download(flag: str, size: int = 28, root=None, *, url: str | None = None, md5: str | None = None,
             timeout: float = DOWNLOAD_TIMEOUT_S, progress: bool = True) -> Path:
    """Download ``{flag}{_size}.npz`` into the root folder and verify its MD5.

    Raises :class:`DatasetUnavailable` within about ``timeout`` seconds when offline, naming the
    expected file path, the URL and how to place the file by hand. ``url``/``md5`` override the
    catalogue (tests point ``url`` at a refusing local address).
    """
    _check_flag(flag)
    target = expected_path(flag, size, root)
    cat_url, cat_md5 = catalog.url_and_md5(flag, size)
    url = url or _url_from_env(target.name) or cat_url
    md5 = md5 if md5 is not None else cat_md5
    how = (
        f"Download it on a machine with internet access from {url} (or let `medmnist` download it), "
        f"then place it at {target}, or set MEDGANBENCH_DATA to the folder that holds {target.name}."
    )
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A name unique to this download: two processes (or threads) fetching the same file never write
        # into one .part, and each moves only its own complete, verified file into place.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            digest = hashlib.md5()
            bar = _progress(total, f"Downloading {target.name}", progress)
            with open(tmp, "wb") as fh:
                while True:
                    chunk = response.read(1 << 20)
                    if not chunk:
                        break
                    fh.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            bar.close()
        if md5 and digest.hexdigest() != md5:
            raise DatasetUnavailable(
                f"Downloaded {url} but its MD5 is {digest.hexdigest()}, expected {md5}; the file was "
                f"discarded. Try again, or {how}"
            )
        umask = os.umask(0)  # mkstemp makes 0600 files; give the data set ordinary permissions
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except DatasetUnavailable:
        # Already worded for the user (MD5 mismatch); it is an OSError too, so keep it from the clause below.
        raise
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        raise DatasetUnavailable(
            f"{target.name} is not at {target} and could not be downloaded ({_reason(exc)}). {how}"
        ) from exc
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()
    return target


def _url_from_env(file_name: str, settings: Settings | None = None) -> str | None:
    """``$MEDGANBENCH_MEDMNIST_URL_BASE/<file>`` when set: a mirror, or a refusing address in tests."""
    base = (settings or Settings.from_env()).medmnist_url_base
    return f"{base.rstrip('/')}/{file_name}" if base else None


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason


def _progress(total, desc, enabled):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        enabled = False
    if not enabled:
        class _Null:
            def update(self, n):
                pass

            def close(self):
                pass

        return _Null()
    return tqdm(total=total, unit="B", unit_scale=True, desc=desc)


def load_medmnist(name: str, split: str = "train", size: int = 28, root=None, download: bool = True) -> Dataset:
    """Load one split of a 2D MedMNIST data set.

    Returns a :class:`Dataset` with ``images`` ``uint8 (N, H, W, C)`` and ``labels`` ``(N, L)``,
    plus its card (task kind, class names, channels, licence; see :func:`catalog.card`).
    Missing file: downloaded when ``download`` is true, else :class:`DatasetUnavailable`.
    """
    _check_flag(name)
    if split not in SPLITS:
        raise MedGanBenchError(f"Unknown split {split!r}; choose one of {SPLITS}.")
    path = expected_path(name, size, root)
    if not path.is_file():
        if not download:
            url = _url_from_env(path.name) or catalog.url_and_md5(name, size)[0]
            raise DatasetUnavailable(
                f"{path.name} is not at {path} (download=False). Download it from {url} and place it "
                f"there, or set MEDGANBENCH_DATA to the folder that holds it."
            )
        path = globals()["download"](name, size, root)
    images, labels = read_npz_split(path, split)
    expected_n = catalog.info()[name]["n_samples"][split]
    if len(images) != expected_n:
        raise MedGanBenchError(
            f"{path} holds {len(images)} {split} images but MedMNIST's catalogue says {expected_n}; the file "
            f"is not the official release. Delete it and download again."
        )
    card = catalog.card(name)
    card.update(size=size, split=split, path=str(path))
    return Dataset(images=images, labels=labels, card=card, split=split)


def read_npz_split(path: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read ``{split}_images`` / ``{split}_labels`` from a MedMNIST-layout npz (no torch needed).

    Grey images ``(N, H, W)`` gain a channel axis -> ``(N, H, W, 1)``.
    """
    from medganbench.labels import check_labels
    from medganbench.npzread import read_npz

    path = Path(path)
    if not path.is_file():
        raise DatasetUnavailable(f"No npz file at {path}.")
    try:
        arrays = read_npz(path, [f"{split}_images", f"{split}_labels"])
    except KeyError as exc:
        raise MedGanBenchError(f"{exc}; a MedMNIST-layout npz holds train/val/test _images and _labels.") from None
    except MedGanBenchError as exc:
        raise MedGanBenchError(f"{exc} Delete it and download again, or re-create it.") from None
    images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
    if images.dtype != np.uint8:
        raise MedGanBenchError(f"{path}: {split}_images has dtype {images.dtype}, expected uint8.")
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3)):
        raise MedGanBenchError(f"{path}: {split}_images has shape {images.shape}; expected (N,H,W) or (N,H,W,C), C=1 or 3.")
    if len(images) != len(labels):
        raise MedGanBenchError(f"{path}: {len(images)} {split} images but {len(labels)} labels.")
    if images.ndim == 3:
        images = images[..., None]
    # MedMNIST multi-label sets (ChestMNIST) have several 0/1 columns: any column count is allowed here.
    labels = check_labels(labels, len(images), f"{path} ({split}_labels)", columns=None)
    return images, labels
