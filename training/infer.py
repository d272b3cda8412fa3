"""Reading lines with a saved model: load (safe mode), batch by width, predict, CTC-decode.

The saved model outputs per-frame probabilities only; decoding (greedy CTC, blank
at index 0) happens here, so the model exports cleanly to any runtime.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from core.charset import read_charset
from core.params import PIXELS_PER_STEP
from core.paths import charset_path
from training.data import pad_batch, to_grey, to_model_input
from training.torch_lstm import use_native_lstm

# Reading pads lines to a multiple of this width: few input shapes, so few graph traces.
READ_WIDTH_STEP = 128
# A text line is much wider than tall; over this height and less than 3x as wide, it is a page or a block.
PAGE_HEIGHT = 256
BLANK_CONTRAST = 16  # grey levels between the 0.5th and 99.5th percentile: less is one flat colour


def is_blank(grey: np.ndarray) -> bool:
    low, high = np.percentile(grey, [0.5, 99.5])  # percentiles: a speck of dust is not text
    return high - low < BLANK_CONTRAST


def not_a_line(grey: np.ndarray) -> str | None:
    """Why an image holds no text line to read (blank, or page-sized), or None.

    The model reads whatever it is given: a blank 1x1 image comes out as some character, a
    400x3000 page as nothing. Saying so beats a silent or invented read."""
    height, width = grey.shape
    if is_blank(grey):
        return f"blank ({width}x{height} px of one colour): no text to read"
    if height > PAGE_HEIGHT and width < 3 * height:
        return f"page-sized ({width}x{height} px): the model reads one text line; crop lines first"
    return None


@dataclass
class Reader:
    model: keras.Model
    charset: str
    height: int

    @classmethod
    def load(cls, model_path: Path | str) -> Reader:
        model_path = Path(model_path)
        if not model_path.is_file():
            raise FileNotFoundError(f"{model_path}: no such model")
        use_native_lstm()
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
        charset = read_charset(charset_path(model_path))
        if model.output_shape[-1] != len(charset) + 1:
            raise ValueError(f"{model_path}: {model.output_shape[-1]} classes, charset has {len(charset)} + blank")
        return cls(model, charset, model.input_shape[1])

    def __post_init__(self):
        # Greedy CTC needs only the best class of each frame. Reading asks the model for just
        # that (argmax of the logits, before the softmax): one int per frame comes back instead
        # of 3,878 probabilities, which were most of the time spent per batch on a CPU.
        named = {layer.name for layer in self.model.layers}
        scores = self.model.get_layer("logits").output if "logits" in named else self.model.output
        self.best_classes = keras.Model(self.model.input, keras.ops.argmax(scores, axis=-1))

    def decode(self, best: np.ndarray, lengths) -> list[str]:
        """Greedy CTC over each line's real frames: repeats merged, then blanks (class 0) dropped.
        The same as keras.ops.ctc_decode(strategy="greedy", mask_index=0) (tested)."""
        texts = []
        for path, length in zip(best, lengths):
            path = path[:length]
            keep = path != 0
            keep[1:] &= path[1:] != path[:-1]
            texts.append("".join(self.charset[c - 1] for c in path[keep]))
        return texts

    def read_arrays(self, greys: list[np.ndarray], batch_size: int = 32) -> list[str]:
        """Texts of grey line images (any size), cropped to their text and scaled to the model height."""
        return self.read_inputs([to_model_input(grey, self.height) for grey in greys], batch_size)

    def read_inputs(self, lines: list[np.ndarray], batch_size: int = 32) -> list[str]:
        """Texts of lines already at the model height (to_model_input).

        Each line is padded to its own width rounded up to READ_WIDTH_STEP and batched only with
        lines padded to the same width: the backward LSTM reads the padding first, so padding
        that depended on the batch's widest line made a line read differently alone and among
        others (4 of the outside set's 520 lines, sitting-11 base)."""
        texts: list[str] = [""] * len(lines)
        padded_widths = [-(-line.shape[1] // READ_WIDTH_STEP) * READ_WIDTH_STEP for line in lines]
        order = np.argsort(padded_widths, kind="stable")
        for _, group in itertools.groupby(order, key=lambda k: padded_widths[k]):
            padded_alike = list(group)
            for start in range(0, len(padded_alike), batch_size):
                members = padded_alike[start : start + batch_size]
                x = pad_batch([lines[k] for k in members], multiple=READ_WIDTH_STEP)
                best = keras.ops.convert_to_numpy(self.best_classes.predict_on_batch(x))  # no autograd
                lengths = [min(-(-lines[k].shape[1] // PIXELS_PER_STEP), best.shape[1]) for k in members]
                for k, text in zip(members, self.decode(best, lengths)):
                    texts[k] = text
        return texts

    def read_images(self, images, batch_size: int = 32) -> list[str]:
        return self.read_arrays([to_grey(image) for image in images], batch_size)
