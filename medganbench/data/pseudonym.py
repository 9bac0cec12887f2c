"""Pseudonyms for patient, study and series identifiers: a keyed HMAC with a secret kept in memory only.

An unsalted hash of a PatientID is not a pseudonym: hospital record numbers are short and numeric, so
hashing every candidate (a dictionary attack) reverses it in seconds. Here a pseudonym is
``HMAC-SHA256(secret, value)`` cut to 16 hex characters, and the secret is 32 random bytes drawn per
data set (one :func:`medganbench.data.dicom.scan` / ``dicom prepare``) that are never written to any
output. Without the secret nobody, including us, can recompute or test a pseudonym; within one data
set, the same patient always gets the same pseudonym, which is all the patient-wise split needs.

Pass your own ``secret`` (bytes you store safely, away from the data set) only when two data sets
must share pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: Values that mean "no identifier" (anonymisers write placeholders): all map to "unknown".
PLACEHOLDERS = {"", "REMOVED", "ANONYMOUS", "ANON", "UNKNOWN", "NONE"}


class Pseudonymizer:
    """``pseudo(value) -> 16 hex chars`` (``"unknown"`` for empty values and placeholders)."""

    __slots__ = ("_key",)

    def __init__(self, secret: bytes | None = None):
        if secret is not None and (not isinstance(secret, bytes) or len(secret) < 16):
            raise ValueError("a pseudonym secret must be at least 16 bytes")
        self._key = secret if secret is not None else secrets.token_bytes(32)

    def __call__(self, value: object) -> str:
        text = str(value or "").strip()
        if text.upper() in PLACEHOLDERS:
            return "unknown"
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:  # never show the key in logs, tracebacks or notebooks
        return "Pseudonymizer(<secret held in memory only>)"

    def __reduce__(self):  # never pickle the key into a cache or a multiprocessing queue by accident
        raise TypeError("a Pseudonymizer holds a secret and cannot be pickled")
