"""fonts/manifest.yaml: which faces exist, where their files and licences are; and the face
that writes labels on the project's pictures (contact sheets, error sheets, curves).

Entries: id, path (relative to the manifest, or "trdg:" + a path inside the installed trdg
package), face (index in a collection), license, source. Which characters a face really
draws is synth/fonts.py's business.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml
from fontTools.ttLib import TTFont
from PIL import ImageFont

from core.errors import InputError
from core.paths import FONT_MANIFEST, trdg_asset


class FontError(InputError):
    """A font or manifest that cannot be used; the message names the file."""


@dataclass(frozen=True)
class FontSpec:
    id: str
    path: Path
    face: int
    license: Path
    source: str


def load_manifest(path: Path, exclude: list[str] = ()) -> list[FontSpec]:
    """Read fonts/manifest.yaml; paths are relative to it, or 'trdg:' + a path in trdg."""
    try:
        entries = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["fonts"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise FontError(f"{path}: not a font manifest with a 'fonts' list: {error}") from None
    specs = []
    for number, entry in enumerate(entries, 1):
        try:
            font_path = entry["path"]
            resolved = trdg_asset(font_path[5:]) if font_path.startswith("trdg:") else Path(path).parent / font_path
            spec = FontSpec(
                id=str(entry["id"]),
                path=resolved,
                face=int(entry.get("face", 0)),
                license=Path(path).parent / entry["license"],
                source=str(entry.get("source", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise FontError(f"{path}: font entry {number} lacks or has a bad field: {error}") from None
        if spec.id in exclude:
            continue
        for what, file in (("font", spec.path), ("licence", spec.license)):
            if not file.is_file():
                raise FontError(f"{path}: font '{spec.id}': {what} file {file} does not exist")
        specs.append(spec)
    if len({s.id for s in specs}) != len(specs):
        raise FontError(f"{path}: font ids are not unique")
    if not specs:
        raise FontError(f"{path}: no fonts left after exclude={list(exclude)}")
    return specs


@functools.lru_cache(maxsize=8)
def label_font(size: int) -> ImageFont.FreeTypeFont:
    """The face of the project's own manifest that maps the most characters, for writing labels
    on pictures. Deliberately not params' fonts.manifest: a user's manifest may hold only faces
    that cannot write every label (Latin-only fonts for an English model), the shipped one can."""
    widest = max(
        load_manifest(FONT_MANIFEST),
        key=lambda spec: len(TTFont(spec.path, fontNumber=spec.face, lazy=True).getBestCmap() or {}),
    )
    return ImageFont.truetype(str(widest.path), size=size, index=widest.face)
