"""The train stage (`ocrpipe train`): the CRNN on the rendered shards, with CTC, resumable, best model kept.

- loss: keras.ops.ctc_loss, blank at class 0, each line's real (unpadded) number of frames
- Adam on a warm-up + cosine schedule, gradient norm clipped
- every epoch: validation sequence and character accuracy; the best model (by validation
  sequence accuracy, then character accuracy) is saved, atomically, as the inference model
  (probabilities out; float32, channels last, whatever the compute of training); a warm
  start stays the model until an epoch reads the validation lines better beyond noise; early
  stopping; an optional wall-clock budget
- the compute: bfloat16 where the CPU has it, channels first on torch (training/compute.py)
- every epoch: a checkpoint of weights, optimizer and epoch (keras BackupAndRestore); a
  run killed at any moment and started again resumes from it; it is removed when training ends
- curves (loss, val seq_acc, val char_acc) through DVCLive for `dvc plots`
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras
from keras import ops

from core.charset import build_charset, read_charset, write_charset
from core.files import atomic_path, write_json
from core.locks import RunLock
from core.params import Params
from core.paths import SPLIT_CHARSET, charset_path, init_record
from core.registry import fetch_model, resolve_start, sha256_of
from training.batches import LineBatches
from training.compute import PORTABLE, Compute, keep_freed_memory, training_compute
from training.data import ImageReader, load_lines, to_grey
from training.infer import Reader
from training.metrics import beats_beyond_noise, scores
from training.model import build_crnn
from training.warm_start import warm_start


def ctc_loss(y_true, y_pred):
    """CTC over logits; y_true packs each line's frame count (column 0) and class ids (padded with 0)."""
    y_pred = ops.cast(y_pred, "float32")  # CTC's sums over long lines in float32, whatever the layers computed in
    frames = ops.cast(y_true[:, 0], "int32")
    targets = ops.cast(y_true[:, 1:], "int32")
    target_lengths = ops.sum(ops.cast(targets > 0, "int32"), axis=1)
    return ops.ctc_loss(targets, y_pred, target_lengths, frames, mask_index=0)


class PortableModel:
    """The inference model as saved and read (float32, channels last: any backend reads it),
    holding the weights of the model training computes with, whatever its compute."""

    def __init__(self, params: Params, inference: keras.Model, charset_size: int, compute: Compute):
        self.inference = inference
        self.model = inference if compute == PORTABLE else build_crnn(params.model, charset_size)[1]

    def sync(self) -> keras.Model:
        if self.model is not self.inference:
            for layer in self.model.layers:
                if layer.weights:
                    layer.set_weights(self.inference.get_layer(layer.name).get_weights())
        return self.model

    def save(self, path: Path) -> None:
        model = self.sync()
        with atomic_path(path) as partial:  # never a half-written model under its name
            model.save(partial)


class Validation(keras.callbacks.Callback):
    """Reads the validation lines with the model as it would be saved; adds val_seq_acc and
    val_char_acc to the logs."""

    def __init__(self, portable: PortableModel, charset: str, height: int, lines):
        super().__init__()
        self.portable, self.truths = portable, [line.label for line in lines]
        self.reader = Reader(portable.model, charset, height)
        images = ImageReader()
        self.greys = [to_grey(images.read(line)) for line in lines]
        images.close()

    def measure(self) -> dict:
        self.portable.sync()
        predictions = self.reader.read_arrays(self.greys)
        self.right = [p == t for p, t in zip(predictions, self.truths)]  # per line, for KeepBest
        return scores(predictions, self.truths)

    def on_epoch_end(self, epoch, logs=None):
        result = self.measure()
        logs["val_seq_acc"], logs["val_char_acc"] = result["seq_acc"], result["char_acc"]


class KeepBest(keras.callbacks.Callback):
    """Saves the inference model whenever validation improves: sequence accuracy first, as the
    gate and the champion comparison judge a model, character accuracy between equals.

    Given the lines a warm start read right (`start`), an epoch must also read the validation
    lines better than the start beyond noise (`lines_right()`: this epoch's), over the `looks`
    epochs of the run: on 500 lines a fine-tune kept for one more line read 0.017 worse than
    its start on the test split."""

    def __init__(
        self,
        save: Callable[[Path], None],
        path: Path,
        state: Path,
        to_beat: tuple = (-1.0, -1.0),
        start: list[bool] | None = None,
        lines_right: Callable[[], list[bool]] | None = None,
        looks: int = 1,
    ):
        super().__init__()
        self.save, self.path, self.state, self.start, self.lines_right = save, path, state, start, lines_right
        self.looks = looks
        saved = json.loads(state.read_text()) if state.exists() else {}
        self.best = (saved["seq_acc"], saved["char_acc"]) if "seq_acc" in saved else to_beat

    def on_epoch_end(self, epoch, logs=None):
        measured = (logs["val_seq_acc"], logs["val_char_acc"])
        better = measured > self.best
        self.within_noise = (
            better and self.start is not None and not beats_beyond_noise(self.lines_right(), self.start, self.looks)
        )
        self.improved = better and not self.within_noise
        if self.improved:
            self.best = measured
            self.save(self.path)
            self.state.parent.mkdir(parents=True, exist_ok=True)
            self.state.write_text(json.dumps({"seq_acc": measured[0], "char_acc": measured[1], "epoch": epoch + 1}))


class EpochLine(keras.callbacks.Callback):
    """One line per epoch, for a terminal, a log file or the Prefect run's logs alike."""

    def __init__(self, epochs: int, keep_best: KeepBest):
        super().__init__()
        self.epochs, self.keep_best, self.started = epochs, keep_best, time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        rate = float(ops.convert_to_numpy(self.model.optimizer.learning_rate))
        best = " (best so far, saved)" if self.keep_best.improved else ""
        best += " (best so far, but within noise of the start: not kept)" if self.keep_best.within_noise else ""
        print(
            f"epoch {epoch + 1}/{self.epochs}: loss {logs['loss']:.4f}, val seq_acc {logs['val_seq_acc']:.4f} "
            f"char_acc {logs['val_char_acc']:.4f}{best}, lr {rate:.2e}, {(time.monotonic() - self.started) / 60:.1f} min",
            flush=True,
        )


class TimeBudget(keras.callbacks.Callback):
    def __init__(self, minutes: float):
        super().__init__()
        self.seconds, self.started = minutes * 60, time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if self.seconds and time.monotonic() - self.started > self.seconds:
            print(f"time budget of {self.seconds / 60:g} min reached after epoch {epoch + 1}")
            self.model.stop_training = True


class LiveCurves(keras.callbacks.Callback):
    """Per-epoch curves through dvclive (a plain keras Callback: DVCLive's own needs TensorFlow)."""

    def __init__(self, directory: Path, resume: bool):
        super().__init__()
        from dvclive import Live

        self.live = Live(str(directory), resume=resume, save_dvc_exp=False, dvcyaml=None)

    def on_epoch_end(self, epoch, logs=None):
        self.live.step = epoch + 1
        for name in ("loss", "val_seq_acc", "val_char_acc"):
            self.live.log_metric(name, float(logs[name]))
        self.live.log_metric("learning_rate", float(ops.convert_to_numpy(self.model.optimizer.learning_rate)))
        self.live.next_step()

    def on_train_end(self, logs=None):
        self.live.end()


class FollowEpoch(keras.callbacks.Callback):
    """Tells the batches which epoch runs, so a resumed run draws new batches."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.epoch = epoch


def training_lines(params: Params) -> list:
    """The synthetic lines, and the user's own repeated so they make up own_share of a pass."""
    p, lines = params.train, load_lines(params.split_dir("train"))
    if p.own_lines is None:
        return lines
    own = load_lines(p.own_lines)
    repeats = max(1, round(p.own_share / (1 - p.own_share) * len(lines) / len(own)))
    print(
        f"own lines: {len(own)} from {p.own_lines}, {repeats}x each pass ({repeats * len(own) / (len(lines) + repeats * len(own)):.0%} of lines)"
    )
    return lines + own * repeats


def start_weights(params: Params, train_model: keras.Model, charset: str) -> dict:
    """Warm-start from what train.init resolves to today, and say what that was: the entry,
    the version and commit of a registered one, the file's sha256, what was copied
    ({"init": "scratch"} from scratch). Training writes it beside the model
    (models/crnn.init.json): dvc.lock pins a model file named in train.init, this record
    pins a registry version, which the pipeline compares with the registry's now."""
    p = params.train
    root = Path.cwd().resolve()  # the checkout: dvc and the flows run stages from there
    start = resolve_start(p.init, root)
    if start is None:
        return {"init": "scratch"}
    with tempfile.TemporaryDirectory() as folder:
        path = start.path or fetch_model(
            root, start.commit, p.model_path.resolve().relative_to(root), Path(folder) / p.model_path.name
        )
        copied = warm_start(train_model, charset, path, grow=p.grow)
        record = {**copied, "init": start.named, "version": start.version, "commit": start.commit,
                  "sha256": sha256_of(path)}  # fmt: skip
    origin = f"{start.named} = crnn@{start.version}" if start.version else start.named
    print(
        f"warm start from {origin}: {copied['layers_copied']} layers; characters kept {copied['characters_kept']}, "
        f"added {copied['characters_added']}, dropped {copied['characters_dropped']}"
        + (f"; grown to the params' sizes: {', '.join(copied['layers_grown'])}" if copied["layers_grown"] else "")
    )
    return record


def train(params: Params) -> dict:
    """Train with the params; one training per model at a time (a second one is refused, naming the first)."""
    p = params.train
    lock = RunLock(p.model_path.with_name(f".{p.model_path.stem}.lock"), f"the model {p.model_path} (training)")
    with lock.held(f"training {p.model_path}"):
        return _train(params)


def _train(params: Params) -> dict:
    p, started = params.train, time.monotonic()
    charset_file = params.split_dir("train") / SPLIT_CHARSET
    charset = read_charset(charset_file) if charset_file.exists() else build_charset(params.charset)
    keras.utils.set_random_seed(p.seed)
    keep_freed_memory(keras.backend.backend())
    compute = training_compute(p.precision, keras.backend.backend())
    train_model, inference = build_crnn(params.model, len(charset), compute)
    portable = PortableModel(params, inference, len(charset), compute)
    print(
        f"CRNN: {inference.count_params():,} parameters, {len(charset)} characters + blank, "
        f"backend {keras.backend.backend()} ({compute})"
    )
    init = start_weights(params, train_model, charset)

    height = params.model.height
    batches = LineBatches(
        training_lines(params), charset, height, p.batch_size,
        steps=p.steps_per_epoch, shuffle=True, augment_images=p.augment, seed=p.seed, max_width=p.max_width,
    )  # fmt: skip
    if batches.skipped:
        print(f"{batches.skipped} training lines left out: wider than {p.max_width} px or too narrow for CTC")
    val_lines = load_lines(params.split_dir("val"))[: p.val_lines]

    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=p.learning_rate / 10,
        warmup_target=p.learning_rate,
        warmup_steps=p.warmup_steps,
        decay_steps=max(1, p.epochs * p.steps_per_epoch - p.warmup_steps),
        alpha=0.05,
    )
    train_model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=5.0), loss=ctc_loss)

    # The checkpoint belongs to these exact params; a stale one (params changed) is dropped.
    backup = p.model_path.with_name(f".{p.model_path.stem}.checkpoint")
    fingerprint = params.training_fingerprint()
    stamp = backup / "params.sha256"
    if backup.exists() and (not stamp.exists() or stamp.read_text() != fingerprint):
        print(f"{backup}: checkpoint of other params, starting afresh")
        shutil.rmtree(backup)
    resuming = (backup / "training_metadata.json").exists()  # written by BackupAndRestore after an epoch
    backup.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)

    validation = Validation(portable, charset, height, val_lines)
    to_beat, start = (-1.0, -1.0), None
    write_charset(charset, charset_path(p.model_path), replace=True)
    if init["init"] != "scratch":
        before = validation.measure()
        print(f"before any step: val seq_acc {before['seq_acc']:.4f} char_acc {before['char_acc']:.4f}")
        to_beat, start = (before["seq_acc"], before["char_acc"]), validation.right
        in_place = init["version"] is None and p.model_path.resolve() == Path(init["init"]).resolve()
        if not in_place and not resuming:
            # Fine-tuning hands back a model no worse on validation than where it started:
            # the start is the model until an epoch beats it beyond noise (in place, it already is).
            portable.save(p.model_path)
    keep_best = KeepBest(
        portable.save, p.model_path, backup / "best.json", to_beat, start, lambda: validation.right, looks=p.epochs
    )
    callbacks = [
        FollowEpoch(batches),
        validation,
        keep_best,
        EpochLine(p.epochs, keep_best),
        keras.callbacks.EarlyStopping(
            monitor="val_char_acc", mode="max", patience=p.patience, start_from_epoch=p.patience_from_epoch
        ),
        TimeBudget(p.max_minutes),
        LiveCurves(p.live_dir, resume=resuming),
        keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=True),
    ]

    # Keras' progress bar on a terminal only; elsewhere (logs, Prefect) EpochLine's lines alone.
    history = train_model.fit(batches, epochs=p.epochs, callbacks=callbacks, verbose=1 if sys.stdout.isatty() else 0)
    epochs_run = len(history.history.get("loss", []))
    if keep_best.best == to_beat and init["init"] != "scratch":
        print(f"no epoch beat the start (val seq_acc {to_beat[0]:.4f}): {p.model_path} is the model it started from")
    write_json(init_record(p.model_path), init)
    return {
        "model": str(p.model_path),
        "resumed": resuming,
        "epochs_run": epochs_run,
        "lines_seen": epochs_run * p.steps_per_epoch * p.batch_size,
        "minutes": round((time.monotonic() - started) / 60, 2),
        "best_val_seq_acc": round(keep_best.best[0], 4),
        "best_val_char_acc": round(keep_best.best[1], 4),
        "init": init,
    }
