"""The characters a label may contain, in a fixed order (model class i + 1 is character i)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.files import write_json
from core.params import Charset

PRINTABLE_ASCII = "".join(chr(code) for code in range(0x20, 0x7F))
# Full-width punctuation and symbols common in Simplified Chinese print.
CJK_PUNCTUATION = "，。、；：？！“”‘’（）《》【】「」『』…—·￥％～"

# GB2312 rows 16-55 hold level 1 (3,755 hanzi by frequency), rows 56-87 level 2.
_GB2312_ROWS = {"gb2312-1": range(0xB0, 0xD8), "gb2312": range(0xB0, 0xF8)}


def gb2312_hanzi(level: str) -> str:
    """Hanzi of GB2312 in code order, derived from Python's own codec."""
    hanzi = []
    for high in _GB2312_ROWS[level]:
        for low in range(0xA1, 0xFF):
            try:
                hanzi.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:  # unassigned tail of row 55 and such
                pass
    return "".join(hanzi)


def build_charset(config: Charset) -> str:
    """Printable ASCII, CJK punctuation, the hanzi, then extras; each character once."""
    return "".join(dict.fromkeys(PRINTABLE_ASCII + CJK_PUNCTUATION + gb2312_hanzi(config.hanzi) + config.extra))


def outside(text: str, charset: str | set[str]) -> list[str]:
    """Characters of text not in charset, sorted, each once."""
    allowed = set(charset)
    return sorted({c for c in text if c not in allowed})


def charset_digest(charset: str) -> str:
    return hashlib.sha256(charset.encode("utf-8")).hexdigest()[:16]


def write_charset(charset: str, path: Path, replace: bool = False) -> None:
    """Write a charset file: {"sha256_16": digest, "characters": [...]}.

    Beside a split's shards an existing file with another charset is an error (the shards
    would disagree); beside a model (replace=True) the new model's charset replaces it.
    """
    path = Path(path)
    if path.exists() and not replace:
        existing = read_charset(path)
        if existing != charset:
            raise ValueError(
                f"{path} holds another charset ({charset_digest(existing)}, not {charset_digest(charset)}): "
                "shards rendered with different charsets belong in different folders"
            )
        return
    write_json(path, {"sha256_16": charset_digest(charset), "characters": list(charset)}, indent=0)


def read_charset(path: Path) -> str:
    """The characters of a charset file, in order (class i + 1 is character i)."""
    try:
        return "".join(json.loads(Path(path).read_text(encoding="utf-8"))["characters"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a readable charset file: {error}") from None
