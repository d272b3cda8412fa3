"""The training curves DVCLive wrote (one TSV per metric, a row per epoch) as one picture:
loss, validation accuracy and learning rate side by side, drawn with Pillow."""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image, ImageDraw

PANELS = (
    ("loss (CTC)", {"loss": (200, 60, 40)}),
    ("validation accuracy", {"val_seq_acc": (30, 90, 200), "val_char_acc": (40, 150, 60)}),
    ("learning rate", {"learning_rate": (120, 60, 160)}),
)
PANEL, MARGIN = (360, 220), 48


def read_curve(path: Path) -> list[tuple[float, float]]:
    """(step, value) rows of one DVCLive TSV."""
    with path.open(encoding="utf-8", newline="") as file:
        return [(float(row["step"]), float(row[path.stem])) for row in csv.DictReader(file, delimiter="\t")]


def draw_curves(live_dir: Path, out: Path) -> Path | None:
    """Write the curves under live_dir/plots/metrics as a PNG at out; None when there are none."""
    from core.fonts import label_font

    folder = Path(live_dir) / "plots" / "metrics"
    curves = {p.stem: read_curve(p) for p in sorted(folder.glob("*.tsv"))}
    curves = {name: points for name, points in curves.items() if points}
    if not curves:
        return None
    font = label_font(13)
    width, height = PANEL
    sheet = Image.new("RGB", (len(PANELS) * (width + MARGIN) + MARGIN, height + 2 * MARGIN + 20), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (title, series) in enumerate(PANELS):
        x0, y0 = MARGIN + k * (width + MARGIN), MARGIN
        draw.text((x0, 12), title, fill="black", font=font)
        shown = {name: curves[name] for name in series if name in curves}
        if not shown:
            continue
        steps = [s for points in shown.values() for s, _ in points]
        values = [v for points in shown.values() for _, v in points]
        low, high = min(values), max(values)
        high = high if high > low else low + 1
        first, last = min(steps), max(steps) if max(steps) > min(steps) else min(steps) + 1
        draw.rectangle((x0, y0, x0 + width, y0 + height), outline=(170, 170, 170))
        for value, y in ((high, y0), (low, y0 + height)):
            draw.text((x0 + 4, y + (2 if y == y0 else -16)), f"{value:.3g}", fill=(90, 90, 90), font=font)
        draw.text((x0 + width - 70, y0 + height + 4), f"epoch {last:.0f}", fill=(90, 90, 90), font=font)
        for row, (name, points) in enumerate(shown.items()):
            xy = [(x0 + (s - first) / (last - first) * width, y0 + height - (v - low) / (high - low) * height)
                  for s, v in points]  # fmt: skip
            if len(xy) > 1:
                draw.line(xy, fill=series[name], width=2)
            else:
                draw.ellipse(_dot(xy[0]), fill=series[name])
            draw.text((x0, y0 + height + 4 + 16 * row), f"— {name} {points[-1][1]:.4g}", fill=series[name], font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, format="PNG")
    return out


def _dot(xy: tuple[float, float], r: float = 3) -> tuple[float, float, float, float]:
    return (xy[0] - r, xy[1] - r, xy[0] + r, xy[1] + r)
