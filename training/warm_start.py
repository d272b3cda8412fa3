"""Warm start: a new model begins from a trained one, across a changed charset.

Every layer whose name and weight shapes match is copied. The output layer (`logits`)
is mapped through the two charsets: class 0 (the CTC blank) keeps its row, a
character in both charsets keeps its learned row wherever it now sits, a removed
character's row is dropped, and a new character gets a fresh row: zero weights and
the lowest bias the old model gave any character, so it starts as the least likely
class and old characters read exactly as before until training moves it. Any other
mismatch (a convolution or LSTM of another size) is an error naming the layer and
both shapes: a silently re-initialised layer is how fine-tuning breaks in other
toolkits ("shape of head.fc.weight not matched"). Asked to grow (`train.grow`), a
narrower init model is first widened to the model's sizes, computing what it computed
(training/grow.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import InputError
from training.grow import GrowError
from training.grow import grow as widen

if TYPE_CHECKING:  # keras is imported only once the command has chosen its backend
    import keras

OUTPUT_LAYER = "logits"


class WarmStartError(InputError):
    """The init model does not fit the model in params; the message names the layer and shapes."""


def warm_start(model: keras.Model, charset: str, init_path: Path, grow: bool = False) -> dict:
    """Copy the weights of the model at init_path into model (whose classes follow charset),
    widening them first where the model is wider and grow is asked for.

    Returns what happened: layers copied (and grown), characters kept, added and dropped.
    """
    from training.infer import Reader

    source = Reader.load(init_path)
    old_index = {c: i + 1 for i, c in enumerate(source.charset)}
    source_weights = {layer.name: layer.get_weights() for layer in source.model.layers if layer.weights}
    grown = []
    if grow:
        targets = {layer.name: [tuple(w.shape) for w in layer.weights] for layer in model.layers if layer.weights}
        try:
            widened = widen(source_weights, targets)
        except GrowError as error:
            raise WarmStartError(f"{init_path}: {error}") from None
        grown = [name for name, weights in widened.items() if _sizes(weights) != _sizes(source_weights[name])]
        source_weights = widened
    copied = []
    for layer in model.layers:
        if not layer.weights or layer.name not in source_weights:
            continue
        old = [np.asarray(w) for w in source_weights[layer.name]]
        new = layer.get_weights()
        if layer.name == OUTPUT_LAYER:
            old = _map_classes(old, new, charset, old_index, init_path)
        shapes = _sizes(old), _sizes(new)
        if shapes[0] != shapes[1]:
            raise WarmStartError(
                f"{init_path}: layer '{layer.name}' has weights of shapes {_shapes(shapes[0])} there "
                f"and {_shapes(shapes[1])} in the model of params: sizes differ, cannot warm-start"
                + ("" if grow else " (an init model narrower than params can grow into it: train.grow: true)")
            )
        layer.set_weights(old)
        copied.append(layer.name)
    missing = sorted(set(source_weights) - set(copied))
    if missing:
        raise WarmStartError(f"{init_path}: layers {missing} have no counterpart in the model of params")
    kept = sum(c in old_index for c in charset)
    return {
        "init": str(init_path),
        "layers_copied": len(copied),
        "layers_grown": grown,
        "characters_kept": kept,
        "characters_added": len(charset) - kept,
        "characters_dropped": len(source.charset) - kept,
    }


def _map_classes(old: list[np.ndarray], new: list[np.ndarray], charset: str, old_index: dict, path: Path):
    """The output layer's kernel columns and biases reordered from the old classes to the new ones."""
    kernel, bias = old
    if kernel.shape[0] != new[0].shape[0]:
        raise WarmStartError(
            f"{path}: layer '{OUTPUT_LAYER}' reads {kernel.shape[0]} features there and {new[0].shape[0]} "
            "in the model of params: sizes differ, cannot warm-start"
        )
    rows = np.array([0] + [old_index.get(c, -1) for c in charset])  # -1: a character new to the model
    fresh = rows < 0
    mapped_kernel = np.where(fresh[None, :], 0.0, kernel[:, np.maximum(rows, 0)]).astype(kernel.dtype)
    mapped_bias = np.where(fresh, bias[1:].min(), bias[np.maximum(rows, 0)]).astype(bias.dtype)
    return [mapped_kernel, mapped_bias]


def _sizes(weights: list[np.ndarray]) -> list[tuple]:
    return [w.shape for w in weights]


def _shapes(shapes: list[tuple]) -> str:
    return ", ".join("x".join(map(str, shape)) for shape in shapes)
