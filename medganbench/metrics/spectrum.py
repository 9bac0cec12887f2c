"""How many directions a feature space really uses: the participation ratio of its covariance.

``effective_dim = (sum of eigenvalues)^2 / sum of squared eigenvalues`` of the features' covariance
(Gao et al. 2017; Recanatesi et al. 2022). It is 1 when one direction carries all the variance and D
when D directions carry equal variance. FID compares means and covariances, so in a space with
effective dimension ~1 it can only see one property of an image (the kit's first classifier features:
1.18, the class direction). Published per extractor in ``eval_spec.extractors.<name>.effective_dim``.

Public API::

    effective_dim(features float (N, D)) -> float in [1, D]   (rounded to 2 decimals for specs)
"""

from __future__ import annotations

import numpy as np

from medganbench.errors import ConfigError


def effective_dim(features: np.ndarray, decimals: int | None = 2) -> float:
    """Participation ratio of the covariance of ``features`` ``(N, D)``, ``N >= 2``; in ``[1, D]``.

    ``decimals``: rounding for a spec (so float noise across machines does not change a hash); None: exact.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ConfigError(f"effective_dim needs features of shape (N >= 2, D), got {f.shape}.")
    eig = np.clip(np.linalg.eigvalsh(np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])), 0.0, None)
    total = float(eig.sum())
    if total <= 0.0:
        return 0.0 if decimals is None else round(0.0, decimals)  # constant features: no direction at all
    pr = total ** 2 / float(np.sum(eig ** 2))
    return pr if decimals is None else round(pr, decimals)
