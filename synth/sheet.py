"""The contact sheet of a shard (`ocrpipe shards preview`): each line scaled up, with its id,
exact label, font and the effects it was drawn with."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

from PIL import Image, ImageDraw

from core.files import AtomicFile
from core.fonts import label_font
from core.shards import Shard, ShardError


def describe_style(font: str, style: dict) -> str:
    """The font and the effects a sample was drawn with, in one line (only those applied)."""
    get = style.get
    parts = [
        font,
        get("size") and f"{get('size')} px",
        style["background"],
        get("width_scale", 1) != 1 and f"width x{get('width_scale')}",
        get("slant") and f"slant {get('slant')}°",
        get("skew") and f"skew {get('skew')}°",
        get("rotation") and f"turned {get('rotation')}°",
        get("perspective") and "perspective",
        get("distortion") and f"{get('distortion')} distortion",
        get("rule"),
        get("effect") and get("effect")["kind"],
        get("low_contrast") and "faint",
        get("blur") and f"blur {get('blur')}",
        get("jpeg") and f"JPEG q{get('jpeg')}",
        get("inverted") and "inverted",
    ]
    return " · ".join(part for part in parts if part)


def preview(path: Path | str, out: Path | str, count: int = 40, scale: int = 2) -> Path:
    """A contact sheet: each sample scaled up, with its id, exact label, font and style under it."""
    shard = Shard(path)
    rows = [(row, Image.open(io.BytesIO(data)).convert("RGB")) for row, data in itertools.islice(shard, count)]
    if not rows:
        raise ShardError(f"{path}: holds no images to preview")
    font = label_font(16)
    width = min(1600, max(max(img.width * scale for _, img in rows), 600)) + 20
    line, gap = 22, 10
    height = sum(img.height * scale + 2 + 2 * line + gap for _, img in rows) + 10
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    y = 10
    for row, img in rows:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
        sheet.paste(img.crop((0, 0, min(img.width, width - 20), img.height)), (10, y))
        y += img.height + 2
        draw.text((10, y), f"{row['id']}  {row['label']}", fill="black", font=font)
        draw.text((10, y + line), describe_style(row["font"], row["style"]), fill=(110, 110, 110), font=font)
        y += 2 * line + gap
    out = Path(out)
    with AtomicFile(out) as file:
        sheet.save(file, format="PNG")
    return out
