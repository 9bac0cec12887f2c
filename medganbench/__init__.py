"""medganbench: a course and benchmark for generative adversarial networks on medical images.

Importing this package is cheap on purpose: it imports neither TensorFlow nor torch.
TensorFlow is imported by the modules that train (``medganbench.models``, ``medganbench.train``);
torch only ever runs in the metrics worker process (``medganbench.metrics.worker``), because
importing TensorFlow and then torchvision/triton in one process crashes it.
"""

__version__ = "0.1.0"

from medganbench.errors import (  # noqa: F401  (re-exported)
    ConfigError,
    DatasetUnavailable,
    MedGanBenchError,
    WeightsUnavailable,
)
from medganbench.runtime import is_smoke, smoke  # noqa: F401
