"""Growing a trained CRNN into a wider one that computes what it computed (Net2WiderNet).

Chen, Goodfellow and Shlens, "Net2Net: Accelerating Learning via Knowledge Transfer"
(ICLR 2016). A layer gets more units (a convolution more filters, an LSTM more cells, the
head more units) as copies of its old ones: each new unit copies one old unit's incoming
weights, so it computes the same value, and the layer reading them divides the old unit's
outgoing weights among its copies, so it receives the same sum. The shares are unequal
(random, summing to one) so that training drives the copies apart; equal shares would
keep them identical forever. Batch normalisation follows its convolution's copies (copied
channels have the same batch statistics).

Hours of CPU training stay in the model when its profile grows: `train.grow: true` with a
narrower `train.init`. Only widths change; the layers, kernels, height and pools stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from core.errors import InputError

GATES = 4  # an LSTM's kernel columns: four gate blocks (i, f, c, o) of one column per cell


class GrowError(InputError):
    """The init model cannot grow into the model of params; the message names the layer."""


@dataclass(frozen=True)
class Copies:
    """A widened layer's units: new unit j copies old unit origin[j] and carries share[j] of
    its outgoing weights (the shares of one old unit's copies sum to one)."""

    origin: np.ndarray
    share: np.ndarray
    old: int

    @classmethod
    def of(cls, old: int, new: int, rng: np.random.Generator, layer: str) -> Copies:
        if new < old:
            raise GrowError(f"layer '{layer}' has {old} units in the init model and {new} in params: it can only grow")
        origin = np.concatenate([np.arange(old), rng.integers(0, old, new - old)])
        weight = rng.uniform(0.5, 1.5, new)  # a unit without copies keeps all of it: w / w
        share = weight / np.bincount(origin, weights=weight, minlength=old)[origin]
        return cls(origin, share, old)

    @classmethod
    def same(cls, units: int) -> Copies:
        return cls(np.arange(units), np.ones(units), units)

    def copy(self, weights: np.ndarray, axis: int) -> np.ndarray:
        """The weights that produce each unit (its incoming side), or its per-unit parameters."""
        return np.take(weights, self.origin, axis=axis)

    def read(self, weights: np.ndarray, axis: int) -> np.ndarray:
        """The weights of a layer that reads these units, each copy carrying its share."""
        shape = [1] * weights.ndim
        shape[axis] = -1
        return np.take(weights, self.origin, axis=axis) * self.share.reshape(shape).astype(weights.dtype)

    def tiled(self, blocks: int) -> Copies:
        """The same copies in each of `blocks` consecutive blocks (frame rows, LSTM gates)."""
        origin = np.concatenate([block * self.old + self.origin for block in range(blocks)])
        return Copies(origin, np.tile(self.share, blocks), self.old * blocks)

    def __add__(self, other: Copies) -> Copies:
        """Units side by side (concatenated outputs)."""
        return Copies(
            np.concatenate([self.origin, self.old + other.origin]), np.concatenate([self.share, other.share]),
            self.old + other.old,
        )  # fmt: skip


def grow(source: dict[str, list[np.ndarray]], target: dict[str, list[tuple]], seed: int = 0) -> dict:
    """The source's weights, widened to the target's shapes (both by layer name).

    Returns {layer: weights}: every layer with weights, the output layer's rows widened
    (its classes are left to the charset mapping)."""
    if set(source) != set(target):
        raise GrowError(
            f"the init model's layers {sorted(set(source) - set(target))} and the params' "
            f"{sorted(set(target) - set(source))} differ: growing widens layers, it does not add or remove them"
        )
    rng = np.random.default_rng(seed)
    grown: dict[str, list[np.ndarray]] = {}
    reads = Copies.same(1)  # the image's one channel
    convolutions = sorted((name for name in source if re.fullmatch(r"conv\d+", name)), key=lambda n: int(n[4:]))
    for name in convolutions:
        (kernel,) = source[name]
        if kernel.shape[:2] != target[name][0][:2]:
            raise GrowError(
                f"layer '{name}': kernel {kernel.shape[:2]} in the init model, {target[name][0][:2]} in params"
            )
        filters = Copies.of(kernel.shape[3], target[name][0][3], rng, name)
        grown[name] = [filters.copy(reads.read(kernel, axis=2), axis=3)]
        grown[f"bn{name[4:]}"] = [filters.copy(w, axis=0) for w in source[f"bn{name[4:]}"]]
        reads = filters
    rows, remainder = divmod(source["bilstm1"][0].shape[0], reads.old)  # frame features: rows x channels
    if remainder or rows * len(reads.origin) != target["bilstm1"][0][0]:
        raise GrowError("layer 'bilstm1': its inputs are not the last convolution's rows x channels in both models")
    frames = reads = reads.tiled(rows)

    for number in range(1, sum(re.fullmatch(r"bilstm\d+", name) is not None for name in source) + 1):
        name, weights, directions = f"bilstm{number}", [], []
        for kernel, recurrent, bias in (source[name][:3], source[name][3:]):
            cells = Copies.of(recurrent.shape[0], target[name][1][0], rng, name)
            gates = cells.tiled(GATES)
            weights += [
                gates.copy(reads.read(kernel, 0), 1),
                gates.copy(cells.read(recurrent, 0), 1),
                gates.copy(bias, 0),
            ]
            directions.append(cells)
        grown[name], reads = weights, directions[0] + directions[1]

    reads = frames + reads  # the output side reads the frame features beside the LSTMs' output
    if "head" in source:
        kernel, bias = source["head"]
        units = Copies.of(kernel.shape[1], target["head"][0][1], rng, "head")
        grown["head"] = [units.copy(reads.read(kernel, 0), 1), units.copy(bias, 0)]
        reads = units
    kernel, bias = source["logits"]
    grown["logits"] = [reads.read(kernel, 0), bias]
    return grown
