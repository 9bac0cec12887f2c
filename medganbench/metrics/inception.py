"""The standard extractor: Inception-v3 with torch-fidelity's own weights (run in the metrics worker).

Torch-free parent side. Weights are looked up, in order:

1. the ``weights`` argument (CLI: ``--inception-weights PATH``);
2. ``$MEDGANBENCH_INCEPTION_WEIGHTS``;
3. torch-fidelity's cache: ``$TORCH_HOME/hub/checkpoints/weights-inception-2015-12-05-6726825d.pth``
   (``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch`` or ``~/.cache/torch``, as in ``torch.hub``);
4. a download from torch-fidelity's release URL into that cache (10 s connect timeout; skipped when
   ``MEDGANBENCH_OFFLINE=1``).

Offline without the file, :class:`~medganbench.errors.WeightsUnavailable` names the file, the URL
and where to put it, within seconds. Never a made-up number.

Preprocessing (torch-fidelity's): grey images are replicated to 3 channels; ``uint8 B×3×H×W`` is
resized to 299×299 by TensorFlow-1.x compatible bilinear interpolation and scaled with
``(x - 128) / 128``. Features: the 2048-d pool layer (FID/KID/PR) and the 1008 unbiased logits (IS).
Real InceptionV3 runs at about 8 images/s on a 2-core CPU: CPU defaults must not depend on it.

Public API::

    inception_weights_path(weights=None, *, download=None) -> Path
    get_inception_extractor(weights=None, *, download=None) -> InceptionExtractor
    InceptionExtractor.id, .weights_sha256, .spec, .features(images) -> float64 (N, 2048),
    InceptionExtractor.features_and_logits(images) -> (float64 (N, 2048), float64 (N, 1008))
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from medganbench.errors import WeightsUnavailable
from medganbench.io import atomic_path, sha256_file
from medganbench.settings import Settings

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_WEIGHTS_FILE
)
DOWNLOAD_TIMEOUT_S = 10.0
PREPROCESSING = ("grey->RGB by channel replication; uint8 Bx3xHxW; torch-fidelity InceptionV3 resize to 299x299 "
                 "(TF1-compatible bilinear); (x-128)/128")


def torch_hub_checkpoints_dir() -> Path:
    """Where ``torch.hub`` (and so torch-fidelity) caches weights, computed without importing torch."""
    home = os.environ.get("TORCH_HOME")
    if not home:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        home = os.path.join(xdg, "torch")
    return Path(home).expanduser() / "hub" / "checkpoints"


def inception_weights_path(weights: str | os.PathLike | None = None, *, download: bool | None = None,
                           url: str | None = None, timeout: float = DOWNLOAD_TIMEOUT_S,
                           settings: Settings | None = None) -> Path:
    """Resolve (and if allowed, download) torch-fidelity's Inception-v3 weights file.

    Raises :class:`WeightsUnavailable` within about ``timeout`` seconds when the file is absent and
    cannot be downloaded; the message says where to put it.
    """
    settings = settings or Settings.from_env()
    cached = torch_hub_checkpoints_dir() / INCEPTION_WEIGHTS_FILE
    explicit = weights or settings.inception_weights
    url = url or settings.inception_url or INCEPTION_WEIGHTS_URL
    how = (f"Download {INCEPTION_WEIGHTS_FILE} from {url} on a machine with internet access and either "
           f"place it at {cached} (torch-fidelity's cache; set TORCH_HOME to move it) or pass "
           f"--inception-weights PATH / set MEDGANBENCH_INCEPTION_WEIGHTS=PATH.")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise WeightsUnavailable(f"Inception-v3 weights file {path} does not exist. {how}")
        return path
    if cached.is_file():
        return cached
    if download is None:
        download = not settings.offline
    if not download:
        raise WeightsUnavailable(f"Inception-v3 weights ({INCEPTION_WEIGHTS_FILE}) are not at {cached} and "
                                 f"downloading is off. {how}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(cached) as tmp:
            with open(tmp, "wb") as fh:
                while True:
                    chunk = response.read(1 << 20)
                    if not chunk:
                        break
                    fh.write(chunk)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WeightsUnavailable(
            f"Inception-v3 weights ({INCEPTION_WEIGHTS_FILE}) are not at {cached} and could not be downloaded "
            f"({type(reason).__name__}: {reason}). {how}"
        ) from None
    return cached


class InceptionExtractor:
    """Inception-v3 pool features through torch-fidelity, computed in the metrics worker."""

    kind = "inception"
    dim = 2048

    def __init__(self, weights_path: Path, *, batch_size: int = 64, device: str | None = None):
        self.weights_path = Path(weights_path)
        self.weights_sha256 = sha256_file(self.weights_path)
        self.batch_size = batch_size
        self.device = device
        self.id = f"inception-v3-tfidelity-{self.weights_sha256[:12]}"

    @property
    def spec(self) -> dict:
        """What a result must record about this extractor (goes into the evaluation spec)."""
        return {"id": self.id, "kind": self.kind, "weights_sha256": self.weights_sha256,
                "weights_file": INCEPTION_WEIGHTS_FILE, "feature_layer": "2048", "dim": self.dim,
                "preprocessing": PREPROCESSING}

    def features_and_logits(self, images: np.ndarray, *, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """images: ``uint8 (N, H, W, C)`` (or ``(N, H, W)``), C = 1 or 3 -> (pool ``(N, 2048)``, logits ``(N, 1008)``)."""
        from medganbench.metrics.client import call_worker

        images = _as_uint8_nhwc(images)
        result = call_worker(
            "inception_features", arrays={"images": images},
            args={"weights": str(self.weights_path), "batch_size": self.batch_size, "device": self.device,
                  "progress": progress},
            outputs=["pool", "logits"],
        )
        return result["arrays"]["pool"].astype(np.float64), result["arrays"]["logits"].astype(np.float64)

    def features(self, images: np.ndarray, *, progress: bool = True) -> np.ndarray:
        """images: ``uint8 (N, H, W, C)`` -> ``float64 (N, 2048)``."""
        return self.features_and_logits(images, progress=progress)[0]


def get_inception_extractor(weights: str | os.PathLike | None = None, *, download: bool | None = None,
                            batch_size: int = 64, device: str | None = None) -> InceptionExtractor:
    """The Inception-v3 extractor, or :class:`WeightsUnavailable` (fast) when its weights cannot be had."""
    return InceptionExtractor(inception_weights_path(weights, download=download), batch_size=batch_size,
                              device=device)


def _as_uint8_nhwc(images) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"feature extractors take uint8 images in [0, 255], got {images.dtype}; "
                         f"convert float [-1, 1] images with medganbench.data.pipeline.to_uint8.")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected images (N, H, W) or (N, H, W, 1|3), got shape {images.shape}")
    return images
