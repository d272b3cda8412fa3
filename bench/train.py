"""Training cost of model profiles, side by side: lines/s of training steps and, with
--lines, the validation accuracy each reaches after the same number of lines.

    .venv/bin/python bench/train.py                                   # params.yaml vs params-base.yaml
    .venv/bin/python bench/train.py --profile params.yaml --profile params-base.yaml --steps 30 --lines 12800
    .venv/bin/python bench/train.py --profile params.yaml --profile params-base.yaml --data data/base/shards/train
    .venv/bin/python bench/train.py --profile params-base.yaml --keras-defaults --data data/base/shards/train
    .venv/bin/python bench/train.py --profile params-base.yaml --malloc-defaults --data data/base/shards/train
    KERAS_BACKEND=jax python bench/train.py --profile params-full.yaml     # on a GPU worker

Every profile trains on the same batches (the first profile's train shards unless
--data names a shard folder; its batch size unless --batch-size is given) with its own model (`model` in its params)
in its own compute (`train.precision`; training/compute.py), from the same seed; steps are
timed after two warm-up steps, data loading excluded (each batch is read once, before the
profiles take their turns). The profiles take turns step by step, so a busy machine slows
them alike. With --keras-defaults each profile also trains a twin, same seed, computing as
Keras 3 does by default: its LSTMs on Keras's own CPU path (a Python loop over frames, not
torch's kernel: training/torch_lstm.py), float32, channels last. With --init every model
starts from that saved model (a warm start; grown where a profile is wider: training/grow.py),
so --lines compares fine-tuning, or a grown model with the one it grew from.
Memory is kept for reuse as `train` keeps it (training/compute.py); --malloc-defaults leaves
glibc's allocator as it is. The allocator is one per process: compare that with a second run
(the last line prints the process's peak resident memory).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, action="append", help="params file (repeatable)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per profile")
    parser.add_argument("--lines", type=int, default=0, help="train each profile on this many lines, then validate")
    parser.add_argument("--batch-size", type=int, default=0, help="for every profile (default: the first's)")
    parser.add_argument(
        "--keras-defaults", action="store_true",
        help="add each profile's twin on Keras's defaults: its own LSTM loop (torch), float32, channels last",
    )  # fmt: skip
    parser.add_argument("--init", type=Path, help="a saved model every profile warm-starts from")
    parser.add_argument(
        "--malloc-defaults", action="store_true",
        help="leave glibc's malloc as it is (training keeps freed memory in the heap: training/compute.py)",
    )  # fmt: skip
    parser.add_argument(
        "--data", type=Path, help="a shard folder to train on, its val folder beside it (default: the first profile's)"
    )
    args = parser.parse_args()
    profiles = args.profile or [ROOT / "params.yaml", ROOT / "params-base.yaml"]

    from core.params import load_params

    configs = [load_params(path) for path in profiles]
    first = configs[0]
    os.environ.setdefault("KERAS_BACKEND", first.train.backend)
    import keras

    from core.charset import read_charset
    from core.paths import SPLIT_CHARSET
    from stages.train import PortableModel, ctc_loss
    from training.batches import LineBatches
    from training.compute import PORTABLE, keep_freed_memory, training_compute
    from training.data import ImageReader, load_lines, to_grey
    from training.infer import Reader
    from training.metrics import scores
    from training.model import build_crnn
    from training.torch_lstm import keras_own_lstm
    from training.warm_start import warm_start

    if not args.malloc_defaults:
        keep_freed_memory(keras.backend.backend())  # as `train` does; process-wide, so the comparison is two runs
    p = first.train
    train_dir = args.data or first.split_dir("train")
    charset = read_charset(train_dir / SPLIT_CHARSET)
    batch_size = args.batch_size or p.batch_size
    steps = max(args.steps + 2, -(-args.lines // batch_size))
    batches = LineBatches(
        load_lines(train_dir), charset, first.model.height, batch_size,
        steps=steps, shuffle=True, augment_images=p.augment, max_width=p.max_width,
    )  # fmt: skip
    defaults = (True, False) if args.keras_defaults else (False,)  # Keras's defaults, or how `train` computes
    runs = [(path, config, plain) for path, config in zip(profiles, configs) for plain in defaults]
    models = []
    for _, config, plain in runs:
        keras.utils.set_random_seed(0)
        compute = PORTABLE if plain else training_compute(config.train.precision, keras.backend.backend())
        train_model, inference = build_crnn(config.model, len(charset), compute)
        if args.init:
            warm_start(train_model, charset, args.init, grow=True)  # a profile wider than the init model grows
        train_model.compile(optimizer=keras.optimizers.Adam(config.train.learning_rate, clipnorm=5.0), loss=ctc_loss)
        models.append((train_model, inference, compute))
    print(f"backend {keras.backend.backend()}, {os.cpu_count()} cores, batch {batch_size}, data {train_dir}")

    elapsed, lines, pixels = [0.0] * len(models), 0, 0
    for step in range(steps):
        x, y = batches[step]
        for k, ((train_model, _, _), (_, _, plain)) in enumerate(zip(models, runs)):
            started = time.perf_counter()
            with keras_own_lstm() if plain else contextlib.nullcontext():
                train_model.train_on_batch(x, y)
            if 2 <= step < args.steps + 2:  # the first two steps compile or allocate
                elapsed[k] += time.perf_counter() - started
        if 2 <= step < args.steps + 2:
            lines, pixels = lines + len(x), pixels + x.shape[2] * len(x)
    print(f"timed {args.steps} steps, mean padded width {pixels / max(lines, 1):.0f} px")

    truths, greys = [], []
    if args.lines:
        images = ImageReader()
        val = load_lines(train_dir.parent / "val")[: p.val_lines]
        truths, greys = [line.label for line in val], [to_grey(images.read(line)) for line in val]
        if args.init:
            start = scores(Reader.load(args.init).read_arrays(greys), truths)
            print(f"{args.init} before any step: val seq_acc {start['seq_acc']:.3f} char_acc {start['char_acc']:.3f}")
    baseline = lines / elapsed[0]
    for (path, config, plain), (_, inference, compute), seconds in zip(runs, models, elapsed):
        rate = lines / seconds
        name = f"{Path(path).name} ({'Keras defaults' if plain else compute})"
        row = f"{name:40} {inference.count_params():>10,} parameters  {rate:7.1f} lines/s  {rate / baseline:4.2f}x"
        if args.lines:
            portable = PortableModel(config, inference, len(charset), compute).sync()  # as `train` validates
            result = scores(Reader(portable, charset, config.model.height).read_arrays(greys), truths)
            row += f"  after {steps * batch_size:,} lines: val seq_acc {result['seq_acc']:.3f} char_acc {result['char_acc']:.3f}"
        print(row)
    # ru_maxrss is in KiB on Linux: the peak of this process, every profile together.
    print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GiB")


if __name__ == "__main__":
    main()
