"""Text sources for the labels, mixed by the weights in params.yaml.

- digits: strings such as 73791096754314441539 (length from params)
- en:     English sentences: words by real frequency (wordfreq) with trdg's
          dictionary as a second, rarer source; capitals, commas, full stops,
          and the tokens of real text inside (numbers, dates, times, prices,
          percentages, e-mail addresses, code-like tokens, abbreviations,
          receipt and form fields: #0421, +1 (555) 010-2299, 3 x $4.50); a share of the
          lines (corpus.en_field_share) are the short lines of receipts, forms, envelopes
          and signs instead: 1208 Juniper Ave, Madison, WI 53703, Whole Milk 1 gal $3.49,
          Net Wt. 16 oz, Open Mon-Sat 8am-9pm, Due Date: 03/14/2027, Gate B12
- zh:     Chinese phrases and sentences: words by real frequency (wordfreq)
          joined by the punctuation of real text (，。、：；·——“”‘’（）《》『』, sometimes
          half-width) or set apart by spaces, with dates, money, ordinals and measures inside
          (2026年5月26日, 共计￥1,299.00元, 第3章, 3～5天)
- mixed:  Chinese/English lines with numbers and punctuation, from templates
          (电子不停车收费系统(Electronic Toll Collection System, 简称ETC), 价格：￥399.00 含税)
- custom: lines of a user's text file

Lines run from 1 to corpus.line_length.max characters. Frequency-weighted words
alone would show the rarest level-1 hanzi once in millions of characters, so a
share of Chinese words (corpus.zh_rare_share) is a run of hanzi drawn uniformly
from the charset: a floor under every character's frequency.

Real text seldom shows some charset characters (#, +, &, |, 『』, ～): English lines
sometimes carry a token with an ASCII symbol drawn uniformly, and Chinese lines use every
CJK punctuation mark, so each character of the default charset is drawn.

Every label uses only charset characters: word lists are filtered to the
charset, and a custom file with other characters is an error listing them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import wordfreq

from core.charset import outside
from core.errors import InputError
from core.params import Corpus as CorpusParams
from core.paths import trdg_asset

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
    "{zh}：{email}",
    "{zh} {time}",
    "{ACR}{int} {zh}{int}{unit}",
)
UNITS = ("kg", "g", "ml", "L", "cm", "mm", "km", "元", "件", "个", "次", "天", "GB", "MB", "%")
ZH_UNITS = ("元", "件", "个", "次", "天", "年", "公斤", "克", "米", "公里", "小时", "分钟", "页", "人", "台", "张", "号")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ABBREVIATIONS = ("Inc.", "Ltd.", "Co.", "No.", "Dr.", "Mr.", "Mrs.", "St.", "Ave.", "e.g.", "i.e.", "etc.",
                 "U.S.", "U.K.", "a.m.", "p.m.", "vs.", "approx.", "Dept.", "Fig.", "ID", "VAT", "USB", "PDF")  # fmt: skip
EN_TOKEN_KINDS = 10  # _en_token's kinds of non-word tokens (the last, 9, is the fallback: AB-12345)
# The ASCII symbols the rest of the corpus draws in 0.5% of lines or fewer (measured over
# 20,000 lines of params-base.yaml's mix); an opening one wraps a word with its partner.
RARE_ASCII_SYMBOLS = tuple('"#$&*+/<=[\\^_`{|~')
ASCII_PAIRS = {"[": "]", "{": "}", "<": ">", '"': '"', "`": "`"}
# English lines that carry one rare-symbol token: each symbol then shows in about
# mix.en x SYMBOL_LINE_SHARE / 17 of the lines (0.22% with params-base.yaml's mix).
SYMBOL_LINE_SHARE = 0.15
# The short English lines of receipts, forms, envelopes and signs (Corpus._en_field).
STREET_TYPES = ("Street", "St", "St.", "Avenue", "Ave", "Ave.", "Road", "Rd", "Rd.", "Boulevard", "Blvd",
                "Drive", "Dr", "Lane", "Ln", "Way", "Court", "Ct", "Place", "Pl", "Highway", "Hwy", "Parkway")  # fmt: skip
US_STATES = tuple("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
                  "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC".split())  # fmt: skip
CA_PROVINCES = tuple("AB BC MB NB NL NS ON PE QC SK".split())
EN_UNITS = ("lb", "lbs", "oz", "fl oz", "kg", "g", "ml", "L", "gal", "qt", "pk", "ct", "ea", "pcs", "in", "ft",
            "yd", "mi", "W", "V", "mAh", "GB", "TB")  # fmt: skip
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EN_FIELD_KINDS = 7  # _en_field's kinds: street, city line, item, label: value, hours, sign, code
DOMAINS = ("example.com", "mail.cn", "corp.net", "163.com", "qq.com", "school.edu", "shop.org")
# Full-width pairs real Chinese text uses, and the half-width forms that often replace them.
ZH_PAIRS = (("“", "”"), ("（", "）"), ("《", "》"), ("【", "】"), ("「", "」"), ("‘", "’"), ("『", "』"))
# Between words: commas most, and the interpunct of transliterated names (哈利·波特) and the dash.
ZH_SEPARATORS = ("，", "，", "，", "、", "、", "：", "；", "。", "·", "——")
HALF_WIDTH = {"，": ",", "。": ".", "：": ":", "；": ";", "（": "(", "）": ")", "！": "!", "？": "?", "％": "%"}


class CorpusError(InputError):
    pass


class WordList:
    """Words with sampling weights ∝ frequency ** power, drawn by inverse CDF
    (rng.choice(p=...) would sum the whole list's weights on every call)."""

    def __init__(self, words: list[str], frequencies: list[float], power: float):
        self.words = np.array(words)
        cumulative = np.cumsum(np.asarray(frequencies, dtype=np.float64) ** power)
        self.cumulative = cumulative / cumulative[-1] if len(words) else cumulative

    def __len__(self) -> int:
        return len(self.words)

    def draw(self, rng: np.random.Generator, count: int = 1) -> list[str]:
        picks = np.searchsorted(self.cumulative, rng.random(count), side="right")
        return [str(w) for w in self.words[np.minimum(picks, len(self.words) - 1)]]


def _wordfreq_list(language: str, size: int, pattern: str, power: float) -> WordList:
    """The `size` most frequent words of wordfreq's list that match pattern, by frequency.

    Read from the frequency table itself: wordfreq.word_frequency would tokenise every word.
    """
    fits = re.compile(pattern)
    table = wordfreq.get_frequency_dict(language)
    top = sorted(table, key=table.__getitem__, reverse=True)[:size]
    words = [w for w in top if fits.fullmatch(w)]
    if language == "en":  # the list is lower-cased, the pronoun is not
        words = ["I" if w == "i" else w for w in words]
    return WordList(words, [table[w.lower()] for w in words], power)


def _load_trdg_words() -> WordList:
    """Words of trdg's English dictionary made of 1-12 ASCII letters, uniformly (mostly rare words)."""
    text = trdg_asset("dicts/en.txt").read_text(encoding="utf-8", errors="ignore")
    words = sorted(set(_WORD_LINE.findall(text)))
    return WordList(words, [1.0] * len(words), 1.0)


def _load_en_words(power: float) -> WordList:
    # wordfreq lower-cases; proper nouns and acronyms come back through the casing below.
    return _wordfreq_list("en", 40_000, r"[a-z]+(?:'[a-z]+)?", power)


def _load_zh_words(charset: set[str], power: float) -> WordList:
    hanzi = "".join(sorted(c for c in charset if "\u4e00" <= c <= "\u9fff"))
    return _wordfreq_list("zh", 80_000, rf"[{hanzi}]{{1,6}}", power)


def _load_custom(path: Path, charset: set[str]) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"{path}: cannot read as UTF-8 text: {error}") from None
    labels = [collapse_spaces(line) for line in lines]
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


def collapse_spaces(text: str) -> str:
    """Single spaces between words and none at the ends: a renderer cannot show more."""
    return " ".join(text.split())


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a space when one falls in the second half."""
    if len(text) <= limit:
        return text
    text = text[:limit]
    space = text.rfind(" ")
    return (text[:space] if space > limit // 2 else text).rstrip(" ,，、·—")


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
        english, chinese = bool(needs & {"en", "mixed"}), bool(needs & {"zh", "mixed"})
        self.en_words = _load_en_words(params.en_frequency_power) if english else None
        self.trdg_words = _load_trdg_words() if english else None
        self.zh_words = _load_zh_words(self.charset, params.zh_frequency_power) if chinese else None
        self.hanzi = np.array(sorted(c for c in self.charset if "\u4e00" <= c <= "\u9fff"))
        self.custom = _load_custom(params.custom_file, self.charset) if "custom" in needs else None
        for name, words in (("English", self.en_words), ("Chinese", self.zh_words)):
            if words is not None and len(words) == 0:
                raise CorpusError(f"no {name} word of the word list fits the charset")

    def sample(self, rng: np.random.Generator) -> tuple[str, str]:
        pick = np.searchsorted(self.source_cumulative, rng.random(), side="right")
        source = self.sources[min(pick, len(self.sources) - 1)]
        label = collapse_spaces(getattr(self, f"_{source}")(rng))
        if source != "custom":
            label = _cut(label, self.params.line_length.max)
        if not label or not self.charset.issuperset(label):  # a template or list slipped: a bug, not bad input
            raise AssertionError(f"{source} produced {label!r} with {outside(label, self.charset)}")
        return label, source

    def _target_length(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.params.line_length.min, self.params.line_length.max + 1))

    # --- sources -----------------------------------------------------------------

    def _digits(self, rng: np.random.Generator, length: int | None = None) -> str:
        if length is None:
            length = int(rng.integers(self.params.digits_length.min, self.params.digits_length.max + 1))
        return "".join(map(str, rng.integers(0, 10, length)))

    def _en_word(self, rng: np.random.Generator) -> str:
        word = (self.trdg_words if rng.random() < self.params.en_dictionary_share else self.en_words).draw(rng)[0]
        roll = rng.random()
        return word.capitalize() if roll < 0.12 else word.upper() if roll < 0.16 else word

    def _en_token(self, rng: np.random.Generator, kind: int | None = None) -> str:
        """A token of real English text that is not a word (kind 2: a time, 5: an e-mail address)."""
        kind = int(rng.integers(EN_TOKEN_KINDS)) if kind is None else kind
        if kind == 0:
            return f"{int(rng.integers(0, 100_000)):,}" if rng.random() < 0.5 else str(int(rng.integers(0, 1000)))
        if kind == 1:
            year, month, day = int(rng.integers(1990, 2036)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
            return str(rng.choice([f"{year}-{month:02d}-{day:02d}", f"{day:02d}/{month:02d}/{year}",
                                   f"{MONTHS[month - 1]} {day}, {year}", f"{day} {MONTHS[month - 1]} {year}"]))  # fmt: skip
        if kind == 2:
            hour, minute = int(rng.integers(0, 24)), int(rng.integers(0, 60))
            return f"{hour:02d}:{minute:02d}" if rng.random() < 0.6 else f"{hour % 12 or 12}:{minute:02d} {'am' if hour < 12 else 'pm'}"
        if kind == 3:
            return f"{rng.choice(['$', '$', 'USD ', 'EUR ', 'RMB ', '￥'])}{rng.uniform(0, 5000):,.2f}"
        if kind == 4:
            return f"{rng.uniform(0, 100):.{rng.integers(0, 3)}f}%"
        if kind == 5:
            user = ".".join(self.en_words.draw(rng, int(rng.integers(1, 3))))
            return f"{user}{rng.integers(0, 100) if rng.random() < 0.3 else ''}@{rng.choice(DOMAINS)}"
        if kind == 6:
            parts = self.en_words.draw(rng, int(rng.integers(2, 4)))
            style = int(rng.integers(4))
            if style == 0:
                return "_".join(parts)
            if style == 1:
                return "".join(p.capitalize() for p in parts) + "()"
            if style == 2:
                return "/" + "/".join(parts) + rng.choice([".py", ".txt", ".json", ""])
            return f"v{rng.integers(0, 10)}.{rng.integers(0, 20)}.{rng.integers(0, 50)}"
        if kind == 7:
            return str(rng.choice(ABBREVIATIONS))
        if kind == 8:  # receipt and form fields: Store #0421, +1 (555) 010-2299, 3 x $4.50
            style = int(rng.integers(3))
            if style == 0:
                return f"#{int(rng.integers(0, 100_000)):0{int(rng.integers(1, 6))}d}"
            if style == 1:
                return f"+{rng.integers(1, 100)} ({self._digits(rng, 3)}) {self._digits(rng, 3)}-{self._digits(rng, 4)}"
            return f"{rng.integers(1, 13)} {rng.choice(['x', '@', '*'])} ${rng.uniform(0, 100):.2f}"
        return f"{''.join(chr(65 + int(i)) for i in rng.integers(0, 26, 2))}-{rng.integers(100, 100_000)}"

    def _symbol_token(self, rng: np.random.Generator) -> str:
        """A word or number with one of RARE_ASCII_SYMBOLS drawn uniformly: the floor under the
        symbols real text seldom shows (without it "#", "+", "&" or "|" would never be drawn)."""
        symbol = str(rng.choice(RARE_ASCII_SYMBOLS))

        def word() -> str:
            return self.en_words.draw(rng)[0] if rng.random() < 0.6 else str(rng.integers(0, 1000))

        if symbol in ASCII_PAIRS:
            return f"{symbol}{word()}{ASCII_PAIRS[symbol]}"
        place = int(rng.integers(4))
        if place == 0:
            return f"{symbol}{word()}"
        if place == 1:
            return f"{word()}{symbol}"
        return f"{word()}{symbol}{word()}" if place == 2 else f"{word()} {symbol} {word()}"

    def _en(self, rng: np.random.Generator, case: str | None = None) -> str:
        """A sentence (or, for short targets, a phrase) of about the target length."""
        share = self.params.en_field_share
        if case is None and share and rng.random() < share:  # no draw at 0: the older corpora's lines stay
            return self._en_field(rng)
        target, words = self._target_length(rng), []
        symbol = self._symbol_token(rng) if rng.random() < SYMBOL_LINE_SHARE else None
        while sum(len(w) + 1 for w in words) < target - (len(symbol) + 1 if symbol else 0):
            words.append(self._en_token(rng) if rng.random() < 0.12 else self._en_word(rng))
            if rng.random() < 0.08 and len(words) > 1:
                words[-1] += ","
        if symbol:  # counted in the length above, so that cutting the line to length keeps it
            words.insert(int(rng.integers(len(words) + 1)), symbol)
        shape = case or str(rng.choice(["sentence", "lower", "title", "upper"], p=[0.55, 0.25, 0.12, 0.08]))
        if shape == "upper":
            words = [w.upper() for w in words]
        elif shape in ("title", "capitalize"):
            words = [w[:1].upper() + w[1:] for w in words]
        elif shape == "sentence":
            words[0] = words[0][:1].upper() + words[0][1:]
        phrase = " ".join(words).rstrip(",")
        if shape == "sentence" and len(words) > 2:
            phrase += str(rng.choice([".", ".", ".", "?", "!", ":", ";"]))
        return phrase

    def _title_words(self, rng: np.random.Generator, low: int, high: int) -> str:
        """low-high frequency-weighted words, capitalised: a name, an item, a field's label."""
        return " ".join(w[:1].upper() + w[1:] for w in self.en_words.draw(rng, int(rng.integers(low, high + 1))))

    def _en_field(self, rng: np.random.Generator, kind: int | None = None) -> str:
        """A short line of a receipt, form, envelope or sign; its words are the corpus's own,
        its shapes those of real addresses, prices, measures, hours and codes."""
        kind = int(rng.integers(EN_FIELD_KINDS)) if kind is None else kind

        def digit() -> str:
            return str(int(rng.integers(10)))

        def letter() -> str:
            return chr(ord("A") + int(rng.integers(26)))

        if kind == 0:  # 1208 Juniper Ave, 77 W 42nd St, Apt 4B
            name = self._title_words(rng, 1, 2)
            if rng.random() < 0.2:
                number = int(rng.integers(1, 200))
                suffix = "th" if number % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
                name = f"{rng.choice(['N', 'S', 'E', 'W'])} {number}{suffix}"
            street = f"{rng.integers(1, 20_000)} {name} {rng.choice(STREET_TYPES)}"
            if rng.random() < 0.25:
                street += f"{rng.choice([', Apt ', ' Suite ', ', Unit ', ' #', ', Floor '])}{rng.integers(1, 40)}"
                street += letter() if rng.random() < 0.3 else ""
            return street
        if kind == 1:  # Madison, WI 53703; Leeds LS2 9JT; Calgary, AB T2P 1J9
            city, style = self._title_words(rng, 1, 2), int(rng.integers(4))
            if style <= 1:
                zip_code = "".join(digit() for _ in range(5))
                if style:  # ZIP+4
                    zip_code += "-" + "".join(digit() for _ in range(4))
                return f"{city}, {rng.choice(US_STATES)} {zip_code}"
            if style == 2:
                area = letter() + (letter() if rng.random() < 0.6 else "")
                return f"{city} {area}{rng.integers(1, 30)} {digit()}{letter()}{letter()}"
            return f"{city}, {rng.choice(CA_PROVINCES)} {letter()}{digit()}{letter()} {digit()}{letter()}{digit()}"
        if kind == 2:  # Whole Milk 1 gal $3.49; 2 x Green Tea 12.50; Apples @ $1.29/lb
            item, price = self._title_words(rng, 1, 3), f"{rng.uniform(0, 100):.2f}"
            style = int(rng.integers(4))
            if style == 0:
                return f"{item} ${price}"
            if style == 1:
                return f"{item} {rng.integers(1, 64)} {rng.choice(EN_UNITS)} ${price}"
            if style == 2:
                return f"{rng.integers(1, 13)} x {item} {price}"
            return f"{item} @ ${price}/{rng.choice(['lb', 'kg', 'oz', 'ea'])}"
        if kind == 3:  # Subtotal: $41.20; Due Date: 03/14/2027; Net Wt. 16 oz; Battery (15%)
            label = self._title_words(rng, 1, 2)
            style = int(rng.integers(5))
            if style == 0:
                return f"{label}: ${rng.uniform(0, 1000):,.2f}"
            if style == 1:  # a number, date, time, percentage or form field
                return f"{label}: {self._en_token(rng, int(rng.choice([0, 1, 2, 4, 8])))}"
            if style == 2:
                return f"{label}: {self._title_words(rng, 1, 2)}"
            if style == 3:
                return f"{label} {rng.uniform(0, 100):.{rng.integers(0, 2)}f} {rng.choice(EN_UNITS)}"
            return f"{label} ({rng.uniform(0, 100):.0f}%)"
        if kind == 4:  # Open Mon-Sat 8am-9pm; Mon-Fri 09:00-17:30; Closed Sun
            if rng.random() < 0.15:
                return f"Closed {rng.choice(WEEKDAYS)}"
            first = int(rng.integers(5))
            days = f"{WEEKDAYS[first]}-{WEEKDAYS[first + int(rng.integers(1, 7 - first))]}"
            opens, closes = int(rng.integers(5, 12)), int(rng.integers(1, 12))
            if rng.random() < 0.5:
                hours = f"{opens}am-{closes}pm"
            else:
                hours = f"{opens:02d}:{rng.choice(['00', '30'])}-{closes + 12}:{rng.choice(['00', '30'])}"
            return f"{rng.choice(['Open ', 'Hours: ', ''])}{days} {hours}"
        if kind == 5:  # signs and screens: Fire Exit, Keep this door closed, NO PARKING
            words = self.en_words.draw(rng, int(rng.integers(1, 5)))
            shape = int(rng.integers(3))
            if shape == 0:
                return " ".join(w[:1].upper() + w[1:] for w in words)
            if shape == 1:
                return " ".join(words).upper()
            sign = " ".join(words)
            return sign[:1].upper() + sign[1:] + str(rng.choice(["", "", ".", "!"]))
        # codes and references: Gate B12, Page 3 of 48, Best before 2027-03-14, Ref. KX-20417
        style = int(rng.integers(4))
        if style == 0:
            return f"{self._title_words(rng, 1, 1)} {letter()}{rng.integers(1, 100)}"
        if style == 1:
            total = int(rng.integers(1, 500))
            return f"{rng.choice(['Page', 'Item', 'Step', 'No.'])} {rng.integers(1, total + 1)} of {total}"
        if style == 2:
            label = rng.choice(["Best before", "Use by", "Batch", "Serial No."])
            return f"{label} {self._en_token(rng, int(rng.choice([1, 9])))}"  # a date or a code
        return f"{rng.choice(['Ref.', 'Ref', 'Order', 'Invoice', 'Ticket'])} {self._en_token(rng, 9)}"

    def _zh_word(self, rng: np.random.Generator) -> str:
        if rng.random() < self.params.zh_rare_share:  # the floor under rare characters
            return "".join(rng.choice(self.hanzi, int(rng.integers(1, 3))))
        return self.zh_words.draw(rng)[0]

    def _zh_number(self, rng: np.random.Generator) -> str:
        """Numbers as Chinese text writes them: dates, money, ordinals, measures, times."""
        kind = int(rng.integers(6))
        if kind == 0:
            return f"{rng.integers(1990, 2036)}年{rng.integers(1, 13)}月{rng.integers(1, 32)}日"
        if kind == 1:
            amount = rng.uniform(0, 20_000)
            text = f"{amount:,.2f}" if rng.random() < 0.5 else f"{amount:.2f}"
            return str(rng.choice([f"￥{text}元", f"共计￥{text}元", f"{text}元", f"￥{text}"]))
        if kind == 2:
            return f"第{rng.integers(1, 100)}{rng.choice(['章', '条', '页', '期', '号', '名', '次'])}"
        if kind == 3:
            if rng.random() < 0.6:
                low = int(rng.integers(1, 1000))
                high = low + int(rng.integers(1, 100))
                value = f"{low}～{high}" if rng.random() < 0.2 else str(low)  # a range: 3～5天
            else:
                value = f"{rng.uniform(0, 100):.1f}"
            return f"{value}{rng.choice(ZH_UNITS)}"
        if kind == 4:
            return f"{rng.integers(0, 24)}:{rng.integers(0, 60):02d}"
        return f"{rng.uniform(0, 100):.1f}{rng.choice(['%', '％'])}"

    def _zh(self, rng: np.random.Generator) -> str:
        """Frequency-weighted words in clauses; punctuation, quotes and numbers as real text has them."""
        target, text = self._target_length(rng), ""
        half_width = rng.random() < 0.15  # a line typed with half-width punctuation
        spaced = rng.random() < 0.2  # phrases set apart by spaces, as signs, forms and menus do
        while len(text) < target:
            roll = rng.random()
            if roll < 0.08:
                piece = self._zh_number(rng)
            elif roll < 0.14:
                opening, closing = ZH_PAIRS[rng.integers(len(ZH_PAIRS))]
                piece = opening + "".join(self._zh_word(rng) for _ in range(rng.integers(1, 3))) + closing
            else:
                piece = self._zh_word(rng)
            text += piece
            if len(text) < target and rng.random() < (0.4 if spaced else 0.18):
                text += " " if spaced else str(rng.choice(ZH_SEPARATORS))
        text = text.rstrip(" ")  # a spaced line may end on its separator
        if len(text) > 3 and rng.random() < 0.35:
            text += str(rng.choice(["。", "。", "！", "？", "；", "…"]))
        if half_width:
            text = "".join(HALF_WIDTH.get(c, c) for c in text)
        return text

    def _mixed(self, rng: np.random.Generator) -> str:
        template = MIXED_TEMPLATES[rng.integers(len(MIXED_TEMPLATES))]
        fill = {
            "zh": lambda: "".join(self._zh_word(rng) for _ in range(rng.integers(1, 4))),
            "En": lambda: " ".join(w.capitalize() for w in self.en_words.draw(rng, int(rng.integers(1, 4)))),
            "en": lambda: " ".join(self.en_words.draw(rng, int(rng.integers(1, 4)))),
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
            "email": lambda: self._en_token(rng, 5),
            "time": lambda: self._en_token(rng, 2),
        }
        return re.sub(r"\{(\w+)\}", lambda m: fill[m.group(1)](), template)

    def _custom(self, rng: np.random.Generator) -> str:
        return self.custom[rng.integers(len(self.custom))]
