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


# One-sided 5%: a model no better is taken for better about once in twenty comparisons
# (each epoch of a fine-tune is one).
SIGN_TEST_Z = 1.645


def beats_beyond_noise(right: list[bool], baseline: list[bool]) -> bool:
    """Whether the lines only `right` reads outnumber those only `baseline` reads by more than
    chance would (normal approximation of the sign test over the lines the two disagree on)."""
    gained = sum(r and not b for r, b in zip(right, baseline, strict=True))
    lost = sum(b and not r for r, b in zip(right, baseline, strict=True))
    return gained - lost > SIGN_TEST_Z * math.sqrt(gained + lost)
