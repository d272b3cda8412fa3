"""The evaluate stage: a model reads a set of lines (the test split, the outside set); the
figures go to a metrics JSON (training/metrics.py) and the worst lines to a picture beside it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image, ImageDraw
from tqdm import tqdm

from core.files import AtomicFile, write_json
from core.fonts import label_font
from core.paths import errors_picture
from training.data import ImageReader, load_lines, to_grey
from training.infer import Reader
from training.metrics import char_accuracy, confusions, metrics


def error_sheet(load_image, predictions, truths, path: Path, worst: int = 24) -> None:
    """The worst lines (image, truth, prediction) and the most confused characters, as one PNG.

    load_image(i) gives line i's image; only the worst lines are read again.
    """
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
    reader, lines = Reader.load(model_path), load_lines(data)
    images = ImageReader()
    predictions = []
    # What was read, not where: a path can hold another drawing of its lines (a split
    # rendered again by a newer corpus), and figures only compare on the same lines.
    # Labels and pixels, in any order: a shard, its extracted folder and a listing agree.
    line_digests = []
    with tqdm(total=len(lines), desc="evaluate", unit="line") as bar:
        for start in range(0, len(lines), 512):  # chunks: widths batch well, memory stays flat
            chunk = lines[start : start + 512]
            greys = [to_grey(images.read(line)) for line in chunk]
            line_digests += [
                hashlib.sha256(f"{line.label}\0{grey.shape}\0".encode() + grey.tobytes()).digest()
                for line, grey in zip(chunk, greys)
            ]
            predictions += reader.read_arrays(greys, batch_size)
            bar.update(len(chunk))
    truths = [line.label for line in lines]
    result = {
        "model": str(model_path),
        "data": str(data),
        "lines_sha256_16": hashlib.sha256(b"".join(sorted(line_digests))).hexdigest()[:16],
        **metrics(predictions, truths),
    }
    out = Path(out)
    write_json(out, result)
    error_sheet(lambda i: images.read(lines[i]), predictions, truths, errors_picture(out))
    return result
