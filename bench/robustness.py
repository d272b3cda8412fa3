"""Robustness benchmark: how much a reading moves when the same lines are framed or inked differently.

    .venv/bin/python bench/robustness.py --model models/base/crnn-base.keras
    .venv/bin/python bench/robustness.py --model OLD.keras --model NEW.keras --peer ppocrv6-small
    .venv/bin/python bench/robustness.py --data data/base/shards/test --lines 1000

Every line is cropped to its text with margins above and below of 0, 0.1, 0.2 (what reading uses)
and 0.3 of the text's height, and, at 0.2, its strokes made lighter or bolder by half or all of a
pixel at 32 px high (training.data.change_stroke_weight). A person reads every variant alike; a
reader that learned one framing or one weight does not. Each model reads the lines exactly as
prepared (32 px high); a --peer (PaddleOCR's recognizers, or tesseract: slow) reads the same
32-px images, to show what a strong reader loses to the same changes. Printed: the lines'
median stroke width at 32 px per slice (to compare two sets' inking), then normalised sequence
accuracy per variant, overall and per slice (training.metrics).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.read import STARTERS, Skipped, shown, table
from core.params import SLICES, load_params
from training.data import (
    MARGIN_OF_TEXT_HEIGHT,
    DataError,
    ImageReader,
    border_of,
    change_stroke_weight,
    has_dark_ink,
    load_lines,
    to_grey,
    to_model_input,
)
from training.metrics import metrics, slice_of

PEERS = [name for name in STARTERS if name != "ours"]
HEIGHT = 32
MARGINS = (0.0, 0.1, MARGIN_OF_TEXT_HEIGHT, 0.3)
WEIGHTS = (-1.0, -0.5, 0.5, 1.0)  # lighter to bolder, at the reading margin
AS_READ = f"margins {MARGIN_OF_TEXT_HEIGHT:.1f} (reading)"


def variants(greys: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Each variant's name and the lines as a model gets them (cropped, 32 px high)."""
    result = {}
    for margin in MARGINS:
        name = AS_READ if margin == MARGIN_OF_TEXT_HEIGHT else f"margins {margin:.1f}"
        result[name] = [to_model_input(grey, HEIGHT, (margin, margin)) for grey in greys]
    for amount in WEIGHTS:
        name = f"strokes {'bolder' if amount > 0 else 'lighter'} x{abs(amount):.1f}"
        result[name] = [change_stroke_weight(line, amount) for line in result[AS_READ]]
    return result


def stroke_width(line: np.ndarray) -> float | None:
    """Mean stroke width in pixels, roughly: twice the ink's area over its edge length (a
    stroke w wide and L long has area wL and edges 2L). Stroke ends and stair-stepped diagonal
    edges make it read low, the more so for short strokes, so compare two sets within a slice,
    not slices with each other. Ink is what lies past halfway from the border's colour to the
    darkest 3% (the lightest, for light text); None for lines with too little contrast to tell."""
    values = line.astype(np.float32)
    background = np.median(border_of(line))
    if not has_dark_ink(line):  # light on dark: measure it as dark on light
        values, background = 255 - values, 255 - background
    darkest = np.percentile(values, 3)
    if background - darkest < 40:
        return None
    ink = np.pad(values < (background + darkest) / 2, 1).astype(np.int8)  # ink at the edge has edges too
    edges = np.abs(np.diff(ink, axis=0)).sum() + np.abs(np.diff(ink, axis=1)).sum()
    return 2 * ink.sum() / max(edges, 1)


def stroke_widths(lines: list[np.ndarray], truths: list[str]) -> str:
    """Median stroke width per slice and how many lines had the contrast to measure, as one line of text."""
    widths = {name: [] for name in SLICES}
    for line, truth in zip(lines, truths):
        if (width := stroke_width(line)) is not None:
            widths[slice_of(truth)].append(width)
    return ", ".join(f"{name} {np.median(found):.2f} ({len(found)} lines)" for name, found in widths.items() if found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "external" / "labels.tsv")
    parser.add_argument("--model", type=Path, action="append", help="a saved model (repeatable)")
    parser.add_argument("--peer", action="append", default=[], help=f"also one of {', '.join(PEERS)} (repeatable)")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml", help="read.backend for the models")
    parser.add_argument("--lines", type=int, help="only the first N lines (default: all)")
    args = parser.parse_args()
    models = args.model or [ROOT / "models" / "crnn.keras"]
    unknown = [name for name in args.peer if name not in PEERS]
    if unknown:
        parser.error(f"--peer: unknown {', '.join(unknown)}")
    try:
        lines = load_lines(args.data)[: args.lines]
        images = ImageReader()
        greys = [to_grey(images.read(line)) for line in lines]
    except DataError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
    truths = [line.label for line in lines]
    prepared = variants(greys)
    print(f"{len(lines)} lines from {shown(args.data)}, {len(prepared)} variants")
    print(f"median stroke width at {HEIGHT} px as read: {stroke_widths(prepared[AS_READ], truths)}")

    settings = load_params(args.params).read
    os.environ.setdefault("KERAS_BACKEND", settings.backend)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from training.infer import Reader

    readers = {}
    for path in models:
        try:
            reader = Reader.load(path)
        except (FileNotFoundError, ValueError) as error:
            print(error, file=sys.stderr)
            sys.exit(2)
        if reader.height != HEIGHT:
            print(
                f"{shown(path)}: reads lines {reader.height} px high; this benchmark prepares them {HEIGHT}",
                file=sys.stderr,
            )
            sys.exit(2)
        readers[shown(path)] = lambda inputs, reader=reader: reader.read_inputs(inputs, settings.batch_size)
    for name in args.peer:
        try:
            contender = STARTERS[name](args)
        except Skipped as reason:
            print(f"{name}: skipped: {reason}", file=sys.stderr)
            continue
        readers[name] = lambda inputs, contender=contender: contender.read([Image.fromarray(x) for x in inputs])

    header = ["variant", "all", *SLICES]
    for name, read in readers.items():
        rows = []
        for variant, inputs in prepared.items():
            print(f"{name}: {variant}", file=sys.stderr, flush=True)
            figures = metrics(read(inputs), truths)
            per_slice = [figures["slices"][s]["seq_acc_norm"] if figures["slices"][s]["n"] else None for s in SLICES]
            cells = [figures["seq_acc_norm"], *per_slice]
            rows.append([variant, *("—" if value is None else f"{value:.3f}" for value in cells)])
        print(f"\n{name}: normalised sequence accuracy")
        print(table(header, rows))


if __name__ == "__main__":
    main()
