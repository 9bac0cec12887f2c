"""Data: MedMNIST, procedural phantoms, DICOM, and tf.data pipelines.

Everything here returns ``uint8`` images ``(N, H, W, C)`` at the edges; the tf.data pipeline
(:mod:`medganbench.data.pipeline`) converts to ``float32`` in ``[-1, 1]`` (NHWC) for training.
Importing this package imports neither TensorFlow nor torch.
"""

from medganbench.data.medmnist import Dataset, load_medmnist, resolve_root  # noqa: F401


def load_dataset(name: str, split: str = "train", size: int = 28, root=None, **kwargs):
    """Load any registered data set by name (see ``medganbench.registry.DATASETS``).

    A path to a MedMNIST-layout ``.npz`` file (e.g. one written by ``medganbench dicom prepare``)
    is accepted as ``name`` too.
    """
    from pathlib import Path

    from medganbench.registry import DATASETS

    if name.endswith(".npz"):
        from medganbench.data.npzfile import load_npz_dataset

        return load_npz_dataset(Path(name), split)
    loader = DATASETS.get(name)
    if loader is load_medmnist:
        return loader(name, split=split, size=size, root=root, **kwargs)
    return loader(split=split, size=size, **kwargs)
