"""Labels in file names: `{id}_{label}.{ext}`, lossless for any Unicode label.

The encoding, applied to the label:
- percent-encoded (UTF-8 bytes as %XX, upper-case hex): '%' itself, '/' and '\\'
  (path separators), the characters Windows forbids in names (: * ? " < > |), and
  every character of Unicode category C* (controls such as NUL and TAB, format
  characters such as ZWJ and bidi overrides, surrogates, private use, unassigned)
  or Zl/Zp (line and paragraph separators). Everything else (spaces, leading
  dots, emoji, Chinese) stays as it is, so names stay readable.
- cut at NAME_BYTES bytes of UTF-8 (never inside a character or an escape), with
  the marker '%~' appended. '%~' can never come from encoding (every literal '%'
  becomes %25), so a reader knows the name holds only a prefix; the full label is
  in the shard index, which is the source of truth.

Decoding a name that was not cut gives back the exact label.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote

NAME_BYTES = 200  # of the label part; leaves room for the id and extension in 255-byte names
CUT_MARKER = "%~"
_ALWAYS_ESCAPED = set('%/\\:*?"<>|')


def _escape(char: str) -> str:
    if char in _ALWAYS_ESCAPED or unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp"):
        return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
    return char


def escape_label(label: str, max_bytes: int = NAME_BYTES) -> str:
    """The label as it appears in a member name; cut and marked if longer than max_bytes."""
    pieces = [_escape(c) for c in label]
    encoded = "".join(pieces)
    if len(encoded.encode("utf-8")) <= max_bytes:
        return encoded
    budget = max_bytes - len(CUT_MARKER)
    kept, used = [], 0
    for piece in pieces:
        size = len(piece.encode("utf-8"))
        if used + size > budget:
            break
        kept.append(piece)
        used += size
    return "".join(kept) + CUT_MARKER


def unescape_label(encoded: str) -> tuple[str, bool]:
    """(label, complete): complete is False when the name held only a cut prefix."""
    complete = not encoded.endswith(CUT_MARKER)
    if not complete:
        encoded = encoded[: -len(CUT_MARKER)]
    return unquote(encoded, encoding="utf-8", errors="surrogatepass"), complete


def member_name(sample_id: int, label: str, ext: str, id_width: int = 8) -> str:
    return f"{sample_id:0{id_width}d}_{escape_label(label)}.{ext}"


def parse_member_name(name: str) -> tuple[int, str, bool]:
    """(id, label, complete) from `{id}_{label}.{ext}`; raises ValueError for other names."""
    stem, dot, _ = name.rpartition(".")
    sample_id, underscore, encoded = stem.partition("_")
    if not (dot and underscore and sample_id.isascii() and sample_id.isdigit()):
        raise ValueError(f"{name!r} is not an {{id}}_{{label}}.{{ext}} name")
    label, complete = unescape_label(encoded)
    return int(sample_id), label, complete
