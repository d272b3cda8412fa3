"""Rendering speed and memory: stock trdg vs. our renderer, same strings, same height, one core.

    .venv/bin/python bench/render.py [--lines 300] [--params params-base.yaml]

Prints img/s for stock trdg's GeneratorFromStrings (plain, gaussian-noise and
quasicrystal backgrounds, no skew/blur/distortion) and for our renderer with the
mix and styles of --params (params.yaml by default: trdg's effects; params-base.yaml:
the realistic styles too), on the same strings at 32 px; then the ratio to trdg's
plain-background rate; then shard throughput (render + PNG + tar) and the whole
`ocrpipe render` command with its start-up and peak memory, with their ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.params import load_params
from core.paths import trdg_asset
from core.shards import write_shard
from synth.draw import Renderer
from synth.trdg_compat import patch_trdg


def rate(count: int, seconds: float) -> float:
    return count / seconds


def best_of(repeat: int, measure) -> float:
    """The fastest of several runs: the one least disturbed by the rest of the machine."""
    return max(measure() for _ in range(repeat))


def time_trdg(strings: list[str], background_type: int) -> float:
    from trdg.generators import GeneratorFromStrings

    generator = GeneratorFromStrings(
        strings,
        count=len(strings),
        fonts=[str(trdg_asset("fonts/cn/SourceHanSans-Normal.ttf"))],
        size=32,
        background_type=background_type,
    )
    started = time.perf_counter()
    for _ in generator:  # (image, label); image is None where trdg found too little contrast
        pass
    return rate(len(strings), time.perf_counter() - started)


def time_ours(renderer: Renderer, strings: list[str], seed: int) -> float:
    started = time.perf_counter()
    for index, label in enumerate(strings):
        renderer.draw(label, np.random.default_rng([seed, index]))
    return rate(len(strings), time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=2000, help="strings per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts")
    parser.add_argument("--shard-images", type=int, default=10_000, help="images in the memory run")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml", help="whose mix and styles to render")
    args = parser.parse_args()

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, for both
    cv2.setNumThreads(1)
    patch_trdg()
    params = load_params(args.params)
    started = time.perf_counter()
    renderer = Renderer(params)
    startup = time.perf_counter() - started
    strings = [renderer.corpus.sample(np.random.default_rng([99, i]))[0] for i in range(args.lines)]
    kinds = {}
    for label in strings:
        kind = "digits" if label.isdigit() else "zh/mixed" if any(c >= "\u4e00" for c in label) else "en"
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"{len(strings)} strings ({kinds}), mean {np.mean([len(s) for s in strings]):.1f} characters, 32 px")
    print(f"our renderer start-up (fonts, corpus, textures): {startup:.2f} s per process\n")

    results = {}
    for name, background in (("plain", 1), ("gaussian noise", 0), ("quasicrystal", 2)):
        lines = strings if background != 2 else strings[: max(30, len(strings) // 8)]  # ~30 img/s
        results[f"stock trdg, {name}"] = best_of(args.repeat, lambda: time_trdg(lines, background))  # noqa: B023
    # A fresh renderer fills its glyph cache as it goes, as every rendering process does.
    results["ours, fresh process"] = best_of(args.repeat, lambda: time_ours(Renderer(params), strings, 1))
    results["ours, glyphs cached"] = best_of(args.repeat, lambda: time_ours(renderer, strings, 2))
    baseline = results["stock trdg, plain"]
    print(f"{'renderer (one core, best of ' + str(args.repeat) + ')':42} {'img/s':>8} {'vs trdg plain':>14}")
    for name, value in results.items():
        print(f"{name:42} {value:8.1f} {value / baseline:13.1f}x")

    with tempfile.TemporaryDirectory() as directory:
        samples = (renderer.sample(7, i) for i in range(2000))
        started = time.perf_counter()
        write_shard(Path(directory) / "bench.tar", samples)
        writing = rate(2000, time.perf_counter() - started)
        print(f"\nshard writing (render + PNG + tar, 2000 images): {writing:.1f} img/s, {writing / baseline:.1f}x trdg plain")

        # The child reports the peak of its own memory map (VmHWM): getrusage's maxrss
        # survives exec and so counts this big parent's pages at the moment of the fork.
        target = Path(directory) / "memory.tar"
        report_peak = (
            "import atexit, re, sys; import ocrpipe; atexit.register(lambda: print('peak_rss_kb', "
            "re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1), file=sys.stderr)); "
            "ocrpipe.main()"
        )
        command = [sys.executable, "-c", report_peak, "render", "--out", str(target), "--count", str(args.shard_images),
                   "--params", str(args.params)]  # fmt: skip
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        peak = next(int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("peak_rss_kb"))
        whole = args.shard_images / elapsed
        print(
            f"ocrpipe render --count {args.shard_images} (one core, whole process): {elapsed:.1f} s ({whole:.0f} img/s "
            f"with start-up, {whole / baseline:.1f}x trdg plain), peak RSS {peak / 1024:.0f} MB, "
            f"shard {target.stat().st_size / 1e6:.0f} MB"
        )


if __name__ == "__main__":
    main()
