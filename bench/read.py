"""Reading speed: batched lines/s and single-line latency of a trained model on CPU, and
Tesseract 5 (chi_sim+eng, one line per image) on the same images when it is installed.

    .venv/bin/python bench/read.py [--model models/crnn.keras] [--data data/shards/test] [--lines 500]

Tesseract: apt-get install tesseract-ocr tesseract-ocr-chi-sim
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "crnn.keras")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "shards" / "test")
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    args = parser.parse_args()

    from synth.params import load_params

    os.environ.setdefault("KERAS_BACKEND", load_params(args.params).read.backend)
    import keras

    from training.data import ImageReader, load_lines, to_grey
    from training.evaluate import scores
    from training.infer import Reader

    reader = Reader.load(args.model)
    lines = load_lines(args.data)[: args.lines]
    images = ImageReader()
    pictures = [images.read(line) for line in lines]
    greys = [to_grey(picture) for picture in pictures]
    truths = [line.label for line in lines]
    print(
        f"{len(lines)} lines from {args.data}, model {args.model} ({keras.backend.backend()}, CPU, {os.cpu_count()} cores)"
    )

    started = time.perf_counter()
    texts = reader.read_arrays(greys)
    first = len(greys) / (time.perf_counter() - started)
    warm = []  # tensorflow traces one graph per batch shape the first time it meets it
    for _ in range(3):
        started = time.perf_counter()
        reader.read_arrays(greys)
        warm.append(len(greys) / (time.perf_counter() - started))
    batched = max(warm)
    latencies = []
    for grey in greys[:100]:
        started = time.perf_counter()
        reader.read_arrays([grey])
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    ours = scores(texts, truths)
    print(
        f"ocrpipe: {batched:.1f} lines/s batched, warm (best of 3; first pass {first:.1f}); "
        f"one line: median {1000 * latencies[len(latencies) // 2]:.1f} ms, "
        f"p95 {1000 * latencies[int(len(latencies) * 0.95)]:.1f} ms; seq_acc {ours['seq_acc']:.3f}, char_acc {ours['char_acc']:.3f}"
    )

    if shutil.which("tesseract") is None:
        print("tesseract: not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim), no comparison")
        return
    languages = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=True).stdout.split()
    language = "chi_sim+eng" if "chi_sim" in languages else "eng"
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for i, picture in enumerate(pictures):
            paths.append(Path(directory) / f"{i}.png")
            picture.save(paths[-1])
        listing = Path(directory) / "lines.txt"
        listing.write_text("".join(f"{p}\n" for p in paths))
        started = time.perf_counter()  # one process for all lines: no start-up per line
        result = subprocess.run(
            ["tesseract", str(listing), "stdout", "-l", language, "--psm", "7"],
            capture_output=True,
            text=True,
            check=True,
        )
        tesseract = len(paths) / (time.perf_counter() - started)
        outputs = [text.strip() for text in result.stdout.split("\f")][: len(paths)]
    theirs = scores(outputs, truths)
    print(
        f"tesseract ({language}, --psm 7, all lines in one process): {tesseract:.1f} lines/s; "
        f"seq_acc {theirs['seq_acc']:.3f}, char_acc {theirs['char_acc']:.3f}"
    )
    print(f"ratio: {batched / tesseract:.1f}x tesseract's lines/s")


if __name__ == "__main__":
    main()
