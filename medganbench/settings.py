"""Settings from the environment: the ONE place that reads and parses ``MEDGANBENCH_*`` variables.

Read once at an edge (the CLI's ``main``, the notebook helpers :func:`medganbench.runtime.is_smoke` /
``mgb.settings()``, the metrics worker's entry) and passed down: library functions take
``settings: Settings | None = None`` and build one with :meth:`Settings.from_env` only when none is given,
so a call with explicit arguments never depends on the process environment. A bad value fails with one
line naming the variable, the value and what it accepts. ``tests/test_settings.py`` checks that no other
module of the package reads a ``MEDGANBENCH_`` variable.

=================================  ==========================  =================================================
variable                           field                        meaning
=================================  ==========================  =================================================
``MEDGANBENCH_SMOKE``              ``smoke``                    1/true/yes/on: notebooks and ``bench`` shrink to seconds
``MEDGANBENCH_DATA``               ``data``                     MedMNIST folder (else medmnist's default)
``MEDGANBENCH_MEDMNIST_URL_BASE``  ``medmnist_url_base``        download ``<base>/<file>.npz`` from a mirror
``MEDGANBENCH_DICOM``              ``dicom``                    DICOM course folder (MR translation tasks)
``MEDGANBENCH_CACHE``              ``cache``                    cache folder (else ``$XDG_CACHE_HOME/medganbench``)
``MEDGANBENCH_INCEPTION_WEIGHTS``  ``inception_weights``        torch-fidelity Inception-v3 weights file
``MEDGANBENCH_INCEPTION_URL``      ``inception_url``            where to download those weights from
``MEDGANBENCH_OFFLINE``            ``offline``                  1/true/yes/on: never download the Inception weights
``MEDGANBENCH_WORKER_ALLOW_TRITON`` ``worker_allow_triton``     1/true/yes/on: let the metrics worker import triton
=================================  ==========================  =================================================
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from medganbench.errors import ConfigError

PREFIX = "MEDGANBENCH_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """Process-level settings; every field has the ``MEDGANBENCH_<FIELD>`` variable of the same name."""

    smoke: bool = False
    data: Path | None = None
    medmnist_url_base: str | None = None
    dicom: Path | None = None
    cache: Path | None = None
    inception_weights: Path | None = None
    inception_url: str | None = None
    offline: bool = False
    worker_allow_triton: bool = False

    @staticmethod
    def variable(name: str) -> str:
        """The environment variable of field ``name`` (``data`` -> ``MEDGANBENCH_DATA``)."""
        return PREFIX + name.upper()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse the ``MEDGANBENCH_*`` variables of ``environ`` (default ``os.environ``); unset means the default.

        Raises :class:`~medganbench.errors.ConfigError` (one line) for a value that is not understood.
        """
        env = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            var = cls.variable(f.name)
            raw = env.get(var)
            if raw is None:
                continue
            kind = bool if isinstance(f.default, bool) else Path if "Path" in str(f.type) else str
            values[f.name] = _parse(var, raw, kind)
        return cls(**values)

    def environ(self) -> dict[str, str]:
        """These settings as ``MEDGANBENCH_*`` variables (for a child process that must see the same)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and value is not False:
                out[self.variable(f.name)] = "1" if value is True else str(value)
        return out


def _parse(var: str, raw: str, kind: type):
    value = raw.strip()
    if kind is bool:
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"{var}={raw!r} is not understood: use 1/true/yes/on or 0/false/no/off (or unset it).")
    if not value:
        return None
    if kind is Path:
        return Path(value).expanduser()
    if "URL" in var and "://" not in value:
        raise ConfigError(f"{var}={raw!r} is not a URL: give one like https://host/path (or unset it).")
    return value
