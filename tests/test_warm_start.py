"""Warm starts: a model begins from a saved one, across reordered and extended charsets."""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import pytest
import yaml
from conftest import ROOT, TINY_MODEL, ocrpipe, write_params

from core.charset import build_charset
from core.params import Charset, Model
from core.paths import charset_path
from training.data import ImageReader, load_lines, to_grey
from training.infer import Reader
from training.model import build_crnn
from training.warm_start import WarmStartError, warm_start

MODEL = Model.model_validate({**TINY_MODEL, "head_units": 12})


@pytest.fixture(scope="module")
def saved(tmp_path_factory, small_shard):
    """A tiny model with random weights saved with its charset, and grey lines to read."""
    import keras

    keras.utils.set_random_seed(1)
    charset = build_charset(Charset())
    _, inference = build_crnn(MODEL, len(charset))
    path = tmp_path_factory.mktemp("init") / "init.keras"
    inference.save(path)
    charset_path(path).write_text(json.dumps({"characters": list(charset)}, ensure_ascii=False), encoding="utf-8")
    images = ImageReader()
    greys = [to_grey(images.read(line)) for line in load_lines(small_shard)[:24]]
    return path, charset, greys


def started_from(path, charset, model=MODEL, grow=False):
    import keras

    keras.utils.set_random_seed(2)  # other fresh weights than the saved model's
    train_model, inference = build_crnn(model, len(charset))
    report = warm_start(train_model, charset, path, grow=grow)
    return Reader(inference, charset, model.height), report


def test_the_same_charset_reads_identically_before_any_step(saved):
    path, charset, greys = saved
    reader, report = started_from(path, charset)
    texts = Reader.load(path).read_arrays(greys)
    assert any(texts) and reader.read_arrays(greys) == texts
    assert report["characters_added"] == report["characters_dropped"] == 0


def test_a_reordered_and_extended_charset_keeps_every_old_characters_row(saved):
    path, charset, greys = saved
    changed = "ÄÖÜ" + charset[::-1] + "€"  # new characters first and last, the old ones reversed
    reader, report = started_from(path, changed)
    assert reader.read_arrays(greys) == Reader.load(path).read_arrays(greys)
    assert report["characters_added"] == 4 and report["characters_kept"] == len(charset)


def test_a_shrunk_charset_drops_the_removed_characters_rows(saved):
    path, charset, greys = saved
    old = Reader.load(path).read_arrays(greys)
    kept = "".join(sorted(set("".join(old)))) + "0123456789"
    reader, report = started_from(path, "".join(dict.fromkeys(kept)))
    assert report["characters_dropped"] == len(charset) - len(set(kept))
    assert reader.read_arrays(greys) == old  # every character it read is still there


def test_a_layer_of_another_size_is_a_one_line_error_naming_it_and_both_shapes(saved):
    path, charset, _ = saved
    wider = Model.model_validate({**MODEL.model_dump(), "lstm_units": 24})
    with pytest.raises(WarmStartError) as error:
        started_from(path, charset, wider)
    message = str(error.value)
    assert "\n" not in message and "'bilstm1'" in message and str(path) in message
    assert "16x64" in message and "24x96" in message  # the old and new LSTM sizes in the shapes


WIDER = Model.model_validate(
    {**MODEL.model_dump(), "conv": [{"filters": 8, "pool": "2x2"}, {"filters": 16, "pool": "2x2"},
                                    {"filters": 24, "pool": "2x1"}, {"filters": 40, "pool": "2x1"}],
     "lstm_units": 24, "head_units": 20}
)  # fmt: skip


def test_a_narrower_model_grows_into_a_wider_one_computing_what_it_computed(saved):
    """training/grow.py: wider convolutions, LSTMs and head, the same outputs before any step."""
    import keras
    import numpy as np

    path, charset, greys = saved
    reader, report = started_from(path, charset, WIDER, grow=True)
    assert report["layers_grown"] == ["conv3", "bn3", "conv4", "bn4", "bilstm1", "bilstm2", "head", "logits"]
    source = Reader.load(path)
    batch = np.random.default_rng(0).random((2, 32, 120, 1), dtype=np.float32)
    expected, grown = (keras.ops.convert_to_numpy(r.model(batch)) for r in (source, reader))
    assert np.allclose(grown, expected, atol=1e-5), np.abs(grown - expected).max()
    assert reader.read_arrays(greys) == source.read_arrays(greys)


def test_grown_copies_learn_apart(saved):
    """A copied filter and its original get different gradients (the layers reading them give
    them unequal shares), so training makes them different units; equal shares would keep
    them equal for ever."""
    import numpy as np
    import torch

    path, charset, _ = saved
    reader, _ = started_from(path, charset, WIDER, grow=True)
    kernel = reader.model.get_layer("conv4").kernel
    weights = kernel.value.detach().numpy()
    origin = next(k for k in range(16) if np.array_equal(weights[..., k], weights[..., 16]))  # filter 16 is a copy
    logits = reader.model(torch.rand(2, 32, 64, 1))
    (gradient,) = torch.autograd.grad((logits * torch.rand(logits.shape)).sum(), [kernel.value])
    assert not torch.allclose(gradient[..., 16], gradient[..., origin], rtol=1e-3)


def test_a_model_cannot_grow_narrower(saved):
    path, charset, _ = saved
    narrower = Model.model_validate({**MODEL.model_dump(), "lstm_units": 8})
    with pytest.raises(WarmStartError) as error:
        started_from(path, charset, narrower, grow=True)
    message = str(error.value)
    assert "\n" not in message and "'bilstm1'" in message and str(path) in message and "16" in message


def test_the_shipped_profiles_fit_the_shipped_base_model():
    """params.yaml fine-tunes models/base/crnn-base.keras, params-base.yaml and params-polish.yaml
    train it on: their models must have its sizes, or `make run` and the next sitting stop at
    the warm start."""
    from core.params import load_params

    base = Reader.load(ROOT / "models" / "base" / "crnn-base.keras")
    for name in ("params.yaml", "params-base.yaml", "params-polish.yaml"):
        config = load_params(ROOT / name)
        assert any(entry.endswith("models/base/crnn-base.keras") for entry in config.train.init), name
        _, model = build_crnn(config.model, len(base.charset))
        assert _weight_shapes(model) == _weight_shapes(base.model), name


def _weight_shapes(model) -> dict:
    return {layer.name: [tuple(w.shape) for w in layer.weights] for layer in model.layers if layer.weights}


def warm_start_params(directory, init, small_shard, **train):
    """A params.yaml in directory training MODEL one short epoch from init, the small shard
    serving as both the train and the val split."""
    for split in ("train", "val"):
        (directory / "shards" / split).mkdir(parents=True)
        (directory / "shards" / split / small_shard.name).symlink_to(small_shard)
    return write_params(
        directory,
        model=MODEL.model_dump(),
        shards={"out_dir": "shards"},
        train={
            "backend": "torch", "init": str(init),
            "model_path": "out/crnn.keras", "live_dir": "live", "batch_size": 8, "epochs": 1,
            "steps_per_epoch": 2, "val_lines": 8, "max_minutes": 0, **train,
        },
    )  # fmt: skip


def test_training_warm_starts_from_params_and_reports_it(saved, tmp_path, small_shard):
    path, _, _ = saved
    params = warm_start_params(tmp_path, path, small_shard)
    result = ocrpipe("train", "--params", params, cwd=tmp_path)
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["init"]["init"] == str(path) and len(summary["init"]["sha256"]) == 64
    assert (tmp_path / "out" / "crnn.keras").is_file()

    mismatched = yaml.safe_load(params.read_text(encoding="utf-8"))
    mismatched["model"]["lstm_units"] = 24
    mismatched["train"]["grow"] = False  # params.yaml grows a narrower init; without it, a wider LSTM is an error
    params.write_text(yaml.safe_dump(mismatched, allow_unicode=True), encoding="utf-8")
    result = ocrpipe("train", "--params", params, cwd=tmp_path, check=False)
    assert result.returncode == 2 and "'bilstm1'" in result.stderr and "Traceback" not in result.stderr


def test_the_model_kept_is_the_best_on_sequence_accuracy_then_character_accuracy(tmp_path):
    """What the gate and the champion comparison judge (seq_acc) decides; char_acc only between equals."""
    import keras

    from stages.train import KeepBest

    _, inference = build_crnn(MODEL, 10)
    keep = KeepBest(inference.save, tmp_path / "m.keras", tmp_path / "best.json", to_beat=(0.50, 0.90))
    kept = []
    for epoch, (seq, char) in enumerate([(0.48, 0.99), (0.52, 0.88), (0.52, 0.87), (0.52, 0.89), (0.51, 0.95)]):
        keep.on_epoch_end(epoch, {"val_seq_acc": seq, "val_char_acc": char})
        kept += [epoch + 1] if keep.improved else []
    assert kept == [2, 4] and keep.best == (0.52, 0.89)
    assert json.loads((tmp_path / "best.json").read_text()) == {"seq_acc": 0.52, "char_acc": 0.89, "epoch": 4}
    resumed = KeepBest(inference.save, tmp_path / "m.keras", tmp_path / "best.json")  # a resumed run knows the best
    assert resumed.best == (0.52, 0.89) and isinstance(keras.saving.load_model(tmp_path / "m.keras"), keras.Model)


def test_a_warm_start_is_replaced_only_by_an_epoch_that_reads_better_beyond_noise(tmp_path):
    from stages.train import KeepBest

    _, inference = build_crnn(MODEL, 10)
    start = [True] * 90 + [False] * 10  # the start reads 90 of 100 validation lines
    epochs = [[True] * 91 + [False] * 9, [True] * 97 + [False] * 3]  # +1 line, then +7
    keep = KeepBest(inference.save, tmp_path / "m.keras", tmp_path / "best.json", (0.90, 0.99), start, lambda: right)
    kept = []
    for epoch, right in enumerate(epochs):
        keep.on_epoch_end(epoch, {"val_seq_acc": sum(right) / 100, "val_char_acc": 0.99})
        kept += [(epoch + 1, keep.improved, keep.within_noise)]
    assert kept == [(1, False, True), (2, True, False)] and keep.best == (0.97, 0.99)
    # +7 of 7 disagreements (z 2.65) is beyond noise for one look, not as one of 18 epochs' looks
    over_a_run = KeepBest(
        inference.save, tmp_path / "n.keras", tmp_path / "n.json", (0.90, 0.99), start, lambda: right, looks=18
    )
    over_a_run.on_epoch_end(0, {"val_seq_acc": 0.97, "val_char_acc": 0.99})
    assert over_a_run.within_noise and not over_a_run.improved and not (tmp_path / "n.keras").exists()


def test_fine_tuning_never_hands_back_a_model_worse_on_validation_than_its_start(saved, tmp_path, small_shard):
    path, _, greys = saved
    params = warm_start_params(tmp_path, path, small_shard, learning_rate=1e-12)  # an epoch cannot read better
    result = ocrpipe("train", "--params", params, cwd=tmp_path)
    before = result.stdout.split("before any step: val seq_acc ")[1].split()
    start = (float(before[0]), float(before[2]))  # seq_acc, "char_acc", char_acc
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert (summary["best_val_seq_acc"], summary["best_val_char_acc"]) >= start
    assert "no epoch beat the start" in result.stdout and "(best so far, saved)" not in result.stdout
    assert Reader.load(tmp_path / "out" / "crnn.keras").read_arrays(greys) == Reader.load(path).read_arrays(greys)
