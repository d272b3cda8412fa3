"""Sequence and character accuracy, overall and per slice, and pictures of the errors.

- sequence accuracy: exact matches / n
- character accuracy: mean over lines of 1 - Levenshtein(pred, truth) / max(len(pred), len(truth)),
  two empty strings scoring 1 (rapidfuzz computes the distance)
- *_norm: the same after Unicode NFKC and removing whitespace
- slices, from the label's characters: digits (only ASCII digits), en (only ASCII,
  not only digits), zh (hanzi and CJK punctuation, no ASCII letters or digits), mixed (the
  rest, and the empty label)
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from rapidfuzz.distance import Levenshtein
from tqdm import tqdm

from synth.shards import AtomicFile
from training.data import ImageReader, load_lines, to_grey

SLICES = ("digits", "en", "zh", "mixed")


def slice_of(label: str) -> str:
    if not label:
        return "mixed"
    if all("0" <= c <= "9" for c in label):
        return "digits"
    if label.isascii():
        return "en"
    has_hanzi = any("\u4e00" <= c <= "\u9fff" for c in label)
    if has_hanzi and not any(c.isascii() and c.isalnum() for c in label):
        return "zh"
    return "mixed"


def normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def char_accuracy(prediction: str, truth: str) -> float:
    longest = max(len(prediction), len(truth))
    return 1.0 if longest == 0 else 1.0 - Levenshtein.distance(prediction, truth) / longest


def scores(predictions: list[str], truths: list[str]) -> dict:
    pairs = list(zip(predictions, truths, strict=True))
    if not pairs:
        return {"n": 0}
    normalised = [(normalise(p), normalise(t)) for p, t in pairs]
    return {
        "n": len(pairs),
        "seq_acc": float(np.mean([p == t for p, t in pairs])),
        "char_acc": float(np.mean([char_accuracy(p, t) for p, t in pairs])),
        "seq_acc_norm": float(np.mean([p == t for p, t in normalised])),
        "char_acc_norm": float(np.mean([char_accuracy(p, t) for p, t in normalised])),
    }


def metrics(predictions: list[str], truths: list[str]) -> dict:
    """Overall scores, and the same per slice."""
    result = scores(predictions, truths)
    groups = {name: ([], []) for name in SLICES}
    for prediction, truth in zip(predictions, truths):
        group = groups[slice_of(truth)]
        group[0].append(prediction)
        group[1].append(truth)
    result["slices"] = {name: scores(*group) for name, group in groups.items()}
    return result


def confusions(predictions: list[str], truths: list[str]) -> Counter:
    """(truth character, predicted character) substitutions; '' for a deletion or insertion."""
    counts: Counter = Counter()
    for prediction, truth in zip(predictions, truths):
        for op in Levenshtein.editops(truth, prediction):
            source = truth[op.src_pos] if op.tag in ("replace", "delete") else ""
            target = prediction[op.dest_pos] if op.tag in ("replace", "insert") else ""
            counts[(source, target)] += 1
    return counts


def error_sheet(load_image, predictions, truths, path: Path, worst: int = 24) -> None:
    """The worst lines (image, truth, prediction) and the most confused characters, as one PNG.

    load_image(i) gives line i's image; only the worst lines are read again.
    """
    from synth.shards import label_font

    font = label_font(16)
    ranked = sorted(range(len(truths)), key=lambda i: char_accuracy(predictions[i], truths[i]))
    ranked = [i for i in ranked if predictions[i] != truths[i]][:worst]
    images = {i: load_image(i) for i in ranked}
    top = confusions(predictions, truths).most_common(20)
    rows_height = sum(images[i].height * 2 + 50 for i in ranked)
    width = max([600] + [min(1400, images[i].width * 2) + 20 for i in ranked])
    sheet = Image.new("RGB", (width + 320, max(rows_height, 60 + 22 * len(top)) + 40), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((10, 10), f"worst {len(ranked)} of {len(truths)} lines", fill="black", font=font)
    y = 36
    for i in ranked:
        image = images[i].convert("RGB")
        image = image.resize((image.width * 2, image.height * 2), Image.Resampling.NEAREST)
        sheet.paste(image.crop((0, 0, min(image.width, width - 20), image.height)), (10, y))
        y += image.height + 2
        draw.text((10, y), f"truth: {truths[i]}", fill=(0, 110, 0), font=font)
        draw.text((10, y + 22), f"read:  {predictions[i]}", fill=(180, 0, 0), font=font)
        y += 48
    x = width + 10
    draw.text((x, 10), "most confused (truth → read)", fill="black", font=font)
    for row, ((source, target), count) in enumerate(top):
        shown = [f"'{c}'" if c else "∅" for c in (source, target)]  # quoted, so a space shows
        draw.text((x, 36 + 22 * row), f"{shown[0]} → {shown[1]}   ×{count}", fill="black", font=font)
    with AtomicFile(path) as file:
        sheet.save(file, format="PNG")


def evaluate(model_path: Path, data: Path, out: Path, batch_size: int = 32) -> dict:
    """Read every line of data with the model; write metrics JSON and an error picture beside it."""
    from training.infer import Reader

    reader, lines = Reader.load(model_path), load_lines(data)
    images = ImageReader()
    predictions = []
    with tqdm(total=len(lines), desc="evaluate", unit="line") as bar:
        for start in range(0, len(lines), 512):  # chunks: widths batch well, memory stays flat
            chunk = lines[start : start + 512]
            predictions += reader.read_arrays([to_grey(images.read(line)) for line in chunk], batch_size)
            bar.update(len(chunk))
    truths = [line.label for line in lines]
    result = {"model": str(model_path), "data": str(data), **metrics(predictions, truths)}
    out = Path(out)
    with AtomicFile(out) as file:
        file.write((json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    error_sheet(lambda i: images.read(lines[i]), predictions, truths, out.with_name(out.stem + ".errors.png"))
    return result
