"""Text sources for the labels, mixed by the weights in params.yaml.

- digits: strings such as 73791096754314441539 (length from params)
- en:     English words and phrases from trdg's English dictionary
- zh:     Chinese phrases from jieba's word-frequency list (349k words, PyPI)
- mixed:  Chinese/English lines with numbers and punctuation, from templates
          (电子不停车收费系统(Electronic Toll Collection System, 简称ETC), 价格：￥399.00 含税)
- custom: lines of a user's text file

Every label uses only charset characters: word lists are filtered to the
charset, and a custom file with other characters is an error listing them.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np

from synth.charset import outside
from synth.params import Corpus as CorpusParams
from synth.trdg_compat import trdg_asset

SOURCES = ("digits", "en", "zh", "mixed", "custom")

_WORD_LINE = re.compile(r"^[A-Za-z]{1,12}$", re.MULTILINE)

# Mixed lines: {zh} a Chinese phrase, {En} a capitalised English phrase, {en} a
# lower-case one, {ACR} an acronym, {int}/{num}/{price}/{digits}/{percent} numbers.
MIXED_TEMPLATES = (
    "{zh}({En}, 简称{ACR})",
    "价格：￥{price} 含税",
    "{zh}：{num}{unit}",
    "{zh}{ACR}{zh}",
    "{En} {zh} {int}",
    "订单号：{digits}",
    "{zh}，共{int}件，合计￥{price}",
    "{int}年{month}月{day}日 {zh}",
    "{zh} {percent}",
    "Tel: {phone} {zh}",
    "{zh}（{en}）",
    "{ACR}-{int} {zh}",
    "《{zh}》 {En}",
    "{zh}【{ACR}】{num}{unit}",
)
UNITS = ("kg", "g", "ml", "L", "cm", "mm", "km", "元", "件", "个", "次", "天", "GB", "MB", "%")


class CorpusError(ValueError):
    pass


def _load_en_words() -> np.ndarray:
    """Words of trdg's English dictionary made of 1-12 ASCII letters (always in the charset)."""
    text = trdg_asset("dicts/en.txt").read_text(encoding="utf-8", errors="ignore")
    return np.array(sorted(set(_WORD_LINE.findall(text))))


def _load_zh_words(charset: set[str], power: float) -> tuple[np.ndarray, np.ndarray]:
    """Words of jieba's dictionary made only of charset hanzi, and their cumulative sampling weights."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("jieba is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "dict.txt"
    hanzi = "".join(sorted(c for c in charset if "\u4e00" <= c <= "\u9fff"))
    entry = re.compile(rf"^([{hanzi}]{{1,6}}) (\d+)", re.MULTILINE)  # word, count, part of speech
    counts: dict[str, int] = {}
    for word, count in entry.findall(path.read_text(encoding="utf-8")):
        counts[word] = counts.get(word, 0) + int(count)
    words = np.array(sorted(counts))
    cumulative = np.cumsum(np.array([counts[w] for w in words], dtype=np.float64) ** power)
    return words, cumulative / cumulative[-1]


def _load_custom(path: Path, charset: set[str]) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"{path}: cannot read as UTF-8 text: {error}") from None
    labels = [normalise(line) for line in lines]
    bad = {number: outside(label, charset) for number, label in enumerate(labels, 1) if outside(label, charset)}
    if bad:
        characters = sorted({c for chars in bad.values() for c in chars})
        lines_named = ", ".join(str(n) for n in list(bad)[:10]) + (" ..." if len(bad) > 10 else "")
        raise CorpusError(
            f"{path}: {len(characters)} character(s) outside the charset: "
            f"{' '.join(repr(c) for c in characters[:50])} (lines {lines_named})"
        )
    labels = [label for label in labels if label]
    if not labels:
        raise CorpusError(f"{path}: no non-empty lines")
    return labels


def normalise(text: str) -> str:
    """Single spaces between words and none at the ends: a renderer cannot show more."""
    return " ".join(text.split())


class Corpus:
    """Draws (label, source) pairs; all randomness comes from the generator passed in."""

    def __init__(self, params: CorpusParams, charset: str):
        self.charset = set(charset)
        weights = params.mix.model_dump()
        self.sources = [s for s in SOURCES if weights[s] > 0]
        total = sum(weights[s] for s in self.sources)
        self.source_cumulative = np.cumsum([weights[s] / total for s in self.sources])
        self.params = params
        needs = set(self.sources)
        self.en_words = _load_en_words() if needs & {"en", "mixed"} else None
        self.zh_words, self.zh_cumulative = (
            _load_zh_words(self.charset, params.zh_frequency_power) if needs & {"zh", "mixed"} else (None, None)
        )
        self.custom = _load_custom(params.custom_file, self.charset) if "custom" in needs else None
        for name, words in (("English", self.en_words), ("Chinese", self.zh_words)):
            if words is not None and len(words) == 0:
                raise CorpusError(f"no {name} word of the dictionary fits the charset")

    def sample(self, rng: np.random.Generator) -> tuple[str, str]:
        pick = np.searchsorted(self.source_cumulative, rng.random(), side="right")
        source = self.sources[min(pick, len(self.sources) - 1)]
        label = normalise(getattr(self, f"_{source}")(rng))
        if not label or not self.charset.issuperset(label):  # a template or list slipped: a bug, not bad input
            raise AssertionError(f"{source} produced {label!r} with {outside(label, self.charset)}")
        return label, source

    # --- sources -----------------------------------------------------------------

    def _digits(self, rng: np.random.Generator, length: int | None = None) -> str:
        if length is None:
            length = int(rng.integers(self.params.digits_length.min, self.params.digits_length.max + 1))
        return "".join(map(str, rng.integers(0, 10, length)))

    def _en(self, rng: np.random.Generator, case: str | None = None) -> str:
        count = int(rng.integers(self.params.en_words.min, self.params.en_words.max + 1))
        case = case or str(rng.choice(["lower", "capitalize", "upper"], p=[0.55, 0.3, 0.15]))
        phrase = " ".join(getattr(str(w), case)() for w in rng.choice(self.en_words, count))
        if rng.random() < 0.15:
            phrase += str(rng.choice(list(".,;:!?")))
        return phrase

    def _zh(self, rng: np.random.Generator) -> str:
        count = int(rng.integers(self.params.zh_words.min, self.params.zh_words.max + 1))
        words = self._zh_words(rng, count)
        phrase = ""
        for i, word in enumerate(words):
            if i and rng.random() < 0.15:
                phrase += str(rng.choice(list("，、")))
            phrase += str(word)
        if rng.random() < 0.15:
            phrase += str(rng.choice(list("。！？；")))
        return phrase

    def _zh_words(self, rng: np.random.Generator, count: int) -> list[str]:
        # Inverse-CDF draw: rng.choice(p=...) would sum 300k weights on every call.
        picks = np.searchsorted(self.zh_cumulative, rng.random(count), side="right")
        return [str(w) for w in self.zh_words[np.minimum(picks, len(self.zh_words) - 1)]]

    def _mixed(self, rng: np.random.Generator) -> str:
        template = MIXED_TEMPLATES[rng.integers(len(MIXED_TEMPLATES))]
        fill = {
            "zh": lambda: "".join(self._zh_words(rng, int(rng.integers(1, 4)))),
            "En": lambda: self._en(rng, "capitalize"),
            "en": lambda: self._en(rng, "lower"),
            "ACR": lambda: "".join(chr(ord("A") + int(i)) for i in rng.integers(0, 26, rng.integers(2, 5))),
            "int": lambda: str(int(rng.integers(1, 10_000))),
            "num": lambda: f"{rng.uniform(0, 1000):.{rng.integers(0, 3)}f}",
            "price": lambda: f"{rng.uniform(0, 10_000):.2f}",
            "percent": lambda: f"{rng.uniform(0, 100):.1f}%",
            "digits": lambda: self._digits(rng, int(rng.integers(8, 21))),
            "phone": lambda: f"1{rng.integers(30, 90)}-{self._digits(rng, 4)}-{self._digits(rng, 4)}",
            "unit": lambda: str(rng.choice(UNITS)),
            "month": lambda: str(int(rng.integers(1, 13))),
            "day": lambda: str(int(rng.integers(1, 29))),
        }
        return re.sub(r"\{(\w+)\}", lambda m: fill[m.group(1)](), template)

    def _custom(self, rng: np.random.Generator) -> str:
        return self.custom[rng.integers(len(self.custom))]
