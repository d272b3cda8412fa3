"""Training throughput: images/s of `train_on_batch` on real shard batches.

    .venv/bin/python bench/train.py [--params params.yaml] [--steps 20]
    KERAS_BACKEND=jax python bench/train.py --params params-full.yaml   # on a GPU worker

Uses the params' model, batch size and max width, and the train shards they name
(render them first). Prints the backend, the device, the parameter count,
seconds per step and training images per second, data loading included.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    from synth.params import load_params

    params = load_params(args.params)
    os.environ.setdefault("KERAS_BACKEND", params.train.backend)
    import keras

    from synth.charset import build_charset
    from training.batches import LineBatches
    from training.data import load_lines
    from training.model import build_crnn
    from training.train import ctc_loss

    charset = build_charset(params.charset)
    model, inference = build_crnn(params.model, len(charset))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=ctc_loss)
    p = params.train
    batches = LineBatches(
        load_lines(p.train_dir), charset, params.model.height, p.batch_size,
        steps=args.steps + 2, shuffle=True, augment_images=p.augment, max_width=p.max_width,
    )  # fmt: skip
    for i in range(2):  # warm-up: first calls compile or allocate
        model.train_on_batch(*batches[i])
    started, lines, pixels = time.perf_counter(), 0, 0
    for i in range(2, args.steps + 2):
        x, y = batches[i]
        model.train_on_batch(x, y)
        lines, pixels = lines + len(x), pixels + x.shape[2] * len(x)
    elapsed = time.perf_counter() - started
    device = {
        "jax": lambda: __import__("jax").devices()[0],
        "torch": lambda: "cuda" if __import__("torch").cuda.is_available() else "cpu",
    }
    print(
        f"backend {keras.backend.backend()}, device {device.get(keras.backend.backend(), lambda: 'cpu')()}, cores {os.cpu_count()}"
    )
    print(
        f"model {inference.count_params():,} parameters, batch {p.batch_size}, mean padded width {pixels / lines:.0f} px"
    )
    print(f"{elapsed / args.steps:.3f} s/step, {lines / elapsed:.1f} training images/s over {args.steps} steps")


if __name__ == "__main__":
    main()
