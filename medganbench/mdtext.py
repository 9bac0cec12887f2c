"""Text from result files, made safe to put into generated Markdown (LEADERBOARD.md, reports).

A submission controls strings such as ``model.name`` and ``submission.author``; written into a table
unescaped, ``"x | 1 | ... |\\n| 1 | fake row"`` or ``"\\n## Fake heading"`` rewrites the leaderboard.
:func:`md_text` turns any value into one line of inert text: control characters and line breaks
become spaces, HTML is entity-escaped, and every character Markdown or a table gives meaning to is
backslash-escaped. :func:`md_link` builds a link whose text and target cannot break out either.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~$])")


def md_text(value: object) -> str:
    """``value`` as one line of literal Markdown text (safe in a table cell, a heading or a list item)."""
    text = _CONTROL.sub(" ", str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text)


def md_link(text: object, target: str, prefix: str = "") -> str:
    """``[text](prefix + target)`` with the text escaped and the target percent-encoded (no spaces, no parens)."""
    return f"[{md_text(text)}]({prefix}{quote(str(target), safe='/._-')})"
