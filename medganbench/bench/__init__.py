"""The benchmark: a versioned ``result.json`` (:mod:`.result`), the protocol that produces it
(:mod:`.protocol`: train -> sample -> evaluate) and the evaluation of outside samples files.

Importing this package imports neither TensorFlow nor torch; training and metric code is imported
only when a benchmark runs. See docs/benchmark.md.
"""

from medganbench.bench.result import (  # noqa: F401  (re-exported)
    PROTOCOL_VERSION,
    load_result,
    spec_hash,
    validate_result,
    write_result,
)
