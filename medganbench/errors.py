"""Errors the kit raises on purpose. Each message says what is wrong and what to do."""


class MedGanBenchError(Exception):
    """Base class: the CLI prints these as one sentence on stderr and exits non-zero."""


class ConfigError(MedGanBenchError, ValueError):
    """A configuration key or value is wrong; the message names it."""


class DatasetUnavailable(MedGanBenchError, FileNotFoundError):
    """A data set file is missing and could not be downloaded (offline, or the server refused)."""


class WeightsUnavailable(MedGanBenchError, FileNotFoundError):
    """A metric needs pretrained weights that are neither cached nor downloadable."""
