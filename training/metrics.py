"""Sequence and character accuracy, overall and per slice, and the characters confused.

- sequence accuracy: exact matches / n
- character accuracy: mean over lines of 1 - Levenshtein(pred, truth) / max(len(pred), len(truth)),
  two empty strings scoring 1 (rapidfuzz computes the distance)
- *_norm: the same after Unicode NFKC and removing whitespace
- slices, from the label's characters: digits (only ASCII digits), en (only ASCII,
  not only digits), zh (hanzi and CJK punctuation, no ASCII letters or digits), mixed (the
  rest, and the empty label)
- beyond noise: one model reads the same lines better than another by more than chance (a
  paired sign test), so a line or two of luck does not replace a model
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from statistics import NormalDist

import numpy as np
from rapidfuzz.distance import Levenshtein

from core.params import SLICES


def slice_of(label: str) -> str:
    if not label:
        return "mixed"
    if all("0" <= c <= "9" for c in label):
        return "digits"
    if label.isascii():
        return "en"
    has_hanzi = any("\u4e00" <= c <= "\u9fff" for c in label)
    if has_hanzi and not any(c.isascii() and c.isalnum() for c in label):
        return "zh"
    return "mixed"


def normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def char_accuracy(prediction: str, truth: str) -> float:
    longest = max(len(prediction), len(truth))
    return 1.0 if longest == 0 else 1.0 - Levenshtein.distance(prediction, truth) / longest


def scores(predictions: list[str], truths: list[str]) -> dict:
    pairs = list(zip(predictions, truths, strict=True))
    if not pairs:
        return {"n": 0}
    normalised = [(normalise(p), normalise(t)) for p, t in pairs]
    return {
        "n": len(pairs),
        "seq_acc": float(np.mean([p == t for p, t in pairs])),
        "char_acc": float(np.mean([char_accuracy(p, t) for p, t in pairs])),
        "seq_acc_norm": float(np.mean([p == t for p, t in normalised])),
        "char_acc_norm": float(np.mean([char_accuracy(p, t) for p, t in normalised])),
    }


def metrics(predictions: list[str], truths: list[str]) -> dict:
    """Overall scores, and the same per slice."""
    result = scores(predictions, truths)
    groups = {name: ([], []) for name in SLICES}
    for prediction, truth in zip(predictions, truths):
        group = groups[slice_of(truth)]
        group[0].append(prediction)
        group[1].append(truth)
    result["slices"] = {name: scores(*group) for name, group in groups.items()}
    return result


def confusions(predictions: list[str], truths: list[str]) -> Counter:
    """(truth character, predicted character) substitutions; '' for a deletion or insertion."""
    counts: Counter = Counter()
    for prediction, truth in zip(predictions, truths):
        for op in Levenshtein.editops(truth, prediction):
            source = truth[op.src_pos] if op.tag in ("replace", "delete") else ""
            target = prediction[op.dest_pos] if op.tag in ("replace", "insert") else ""
            counts[(source, target)] += 1
    return counts


# One-sided 5% over a whole run: with the threshold at 5% per look, a no-better model was
# taken for better about once in twenty epochs, so a run of 18 epochs kept one often. Base
# sitting 23 did: +12 validation lines of 1,000 (31 gained, 19 lost, z 1.70) at epoch 11,
# then 7 lines fewer on the test split. Bonferroni: each of a run's `looks` gets 5% / looks.
FALSE_GAIN_RATE = 0.05


def beats_beyond_noise(right: list[bool], baseline: list[bool], looks: int = 1) -> bool:
    """Whether the lines only `right` reads outnumber those only `baseline` reads by more than
    chance would over `looks` comparisons (normal approximation of the sign test over the
    lines the two disagree on)."""
    gained = sum(r and not b for r, b in zip(right, baseline, strict=True))
    lost = sum(b and not r for r, b in zip(right, baseline, strict=True))
    z = NormalDist().inv_cdf(1 - FALSE_GAIN_RATE / looks)  # 1.645 for one look, 2.77 for 18
    return gained - lost > z * math.sqrt(gained + lost)
