"""Backgrounds: trdg's kinds (plain, gaussian noise, quasicrystal, image), gradients and
generated textures, from texture pools.

trdg computes a background per image; its quasicrystal is a per-pixel Python loop
(~0.2 s for 64x600). Here each process builds a few wide textures once, with the
same formulas vectorised, and every sample crops a random window from one:
~10 µs instead of milliseconds. Image textures are trdg's bundled photos, faded
like print on paper, and paper/ruled-form textures generated here. Gradients
(lighting across a page or a screen) are made per sample; textures (cardboard,
cloth, stained and speckled paper) are multi-scale noise made once per process.
A window taller than the pool's textures is cropped at their height and scaled up.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from core.params import Backgrounds as BackgroundWeights
from core.paths import trdg_asset

KINDS = ("plain", "gaussian", "quasicrystal", "image", "gradient", "texture")
TEXTURE_WIDTH = 2048
TEXTURES_PER_KIND = 4
TRDG_PHOTOS = ("bricks.jpg", "city.jpg", "containers.jpg", "water.jpg")


def gaussian_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """trdg's gaussian_noise: mean 235, sigma 10, like paper."""
    return np.clip(rng.normal(235, 10, (height, width)), 0, 255).astype(np.uint8)


def quasicrystal_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """trdg's quasicrystal, vectorised; the pattern scale is trdg's for a 600 px wide line."""
    frequency = rng.random() * 30 + 20
    phase = rng.random() * 2 * math.pi
    rotations = int(rng.integers(10, 21))
    x = (np.arange(height) / (height - 1) * 4 * math.pi - 2 * math.pi)[:, None]
    y = (np.arange(width) / (600 - 1) * 4 * math.pi - 2 * math.pi)[None, :]
    radius, angle = np.hypot(x, y), np.arctan2(y, x)
    z = sum(np.cos(radius * np.sin(angle + i * 2 * math.pi / rotations) * frequency + phase) for i in range(rotations))
    grey = 255 - np.round(255 * z / rotations)
    # trdg's values run past 0-255; clip them, then
    # lift towards white so that dark text on it stays readable.
    return (128 + np.clip(grey, 0, 255) / 2).astype(np.uint8)


def photo_texture(rng: np.random.Generator, name: str, height: int) -> np.ndarray:
    """One of trdg's bundled photos, scaled to a few line heights and faded to a light tone."""
    with Image.open(trdg_asset(f"images/{name}")) as photo:
        photo = photo.convert("RGB")
        scale = 3 * height / photo.height
        photo = photo.resize((max(1, round(photo.width * scale)), 3 * height), Image.Resampling.LANCZOS)
    fade = rng.uniform(0.45, 0.7)
    return (255 * fade + np.asarray(photo, dtype=np.float32) * (1 - fade)).astype(np.uint8)


def paper_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Generated paper: low-frequency mottling, fibre grain, sometimes ruled lines like a form."""
    mottle = cv2.resize(rng.normal(0, 1, (max(2, height // 8), width // 8)), (width, height), cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (height, width)), (0, 0), sigmaX=3, sigmaY=0.5)
    paper = 232 + 8 * mottle + 5 * grain
    if rng.random() < 0.5:
        for y in range(int(rng.integers(0, 4)), height, int(rng.integers(height // 2, height + 1))):
            paper[y, :] -= rng.uniform(25, 60)
    tint = rng.uniform(0.9, 1.0, 3)
    return np.clip(paper[:, :, None] * tint, 0, 255).astype(np.uint8)


def gradient_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Light grey from one tone to another along a random direction, with a little noise."""
    start, end = rng.uniform(180, 255, 2)
    angle = rng.uniform(0, 2 * math.pi)
    y, x = np.ogrid[:height, :width]
    along = x * math.cos(angle) + y * math.sin(angle) * 8  # lines are wide: tilt the vertical part
    span = max(float(along.max() - along.min()), 1.0)
    grey = start + (end - start) * (along - along.min()) / span + rng.normal(0, rng.uniform(0, 4), (height, width))
    return np.clip(grey, 0, 255).astype(np.uint8)


def noise_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Multi-scale noise: coarse stains, mid-scale fibres or weave, fine speckle, on a light tone."""
    texture = np.zeros((height, width), np.float64)
    for octave, amplitude in ((32, rng.uniform(4, 14)), (8, rng.uniform(2, 10)), (2, rng.uniform(1, 6))):
        coarse = rng.normal(0, 1, (max(2, height // octave), max(2, width // octave)))
        texture += amplitude * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:  # a weave: faint periodic threads
        period = rng.uniform(3, 8)
        texture += rng.uniform(2, 6) * np.sin(np.arange(width) * 2 * math.pi / period)[None, :]
    speckle = rng.random((height, width)) < rng.uniform(0, 0.004)
    texture[speckle] -= rng.uniform(40, 120)
    return np.clip(rng.uniform(200, 240) + texture, 0, 255).astype(np.uint8)


class BackgroundPool:
    """Texture pools built once per process from a fixed seed, cropped per sample."""

    def __init__(self, weights: BackgroundWeights, height: int, seed: int):
        values = weights.model_dump()
        self.kinds = [kind for kind in KINDS if values[kind] > 0]
        self.cumulative = np.cumsum([values[kind] for kind in self.kinds]) / sum(values[kind] for kind in self.kinds)
        rng = np.random.default_rng([seed, 0xBAC6])
        self.height = height
        tall = 2 * height  # room for a random vertical offset
        self.textures: dict[str, list[np.ndarray]] = {}
        if "gaussian" in self.kinds:
            self.textures["gaussian"] = [gaussian_texture(rng, tall, TEXTURE_WIDTH) for _ in range(TEXTURES_PER_KIND)]
        if "quasicrystal" in self.kinds:
            self.textures["quasicrystal"] = [
                quasicrystal_texture(rng, tall, TEXTURE_WIDTH) for _ in range(TEXTURES_PER_KIND)
            ]
        if "image" in self.kinds:
            self.textures["image"] = [photo_texture(rng, name, height) for name in TRDG_PHOTOS] + [
                paper_texture(rng, tall, TEXTURE_WIDTH) for _ in range(TEXTURES_PER_KIND)
            ]
        if "texture" in self.kinds:
            self.textures["texture"] = [noise_texture(rng, tall, TEXTURE_WIDTH) for _ in range(TEXTURES_PER_KIND)]

    def sample(self, rng: np.random.Generator, width: int, height: int, tint: bool) -> tuple[np.ndarray, str]:
        """An RGB (height, width, 3) uint8 background and its kind."""
        kind = self.kinds[min(np.searchsorted(self.cumulative, rng.random(), side="right"), len(self.kinds) - 1)]
        if kind == "plain":
            grey = np.full((height, width), int(rng.integers(215, 256)), np.uint8)
        elif kind == "gradient":
            grey = gradient_background(rng, height, width)
        else:
            textures = self.textures[kind]
            texture = textures[rng.integers(len(textures))]
            grey = _crop(rng, texture, height, width)
        if grey.ndim == 3:
            return grey, kind
        rgb = np.repeat(grey[:, :, None], 3, axis=2)
        if tint:  # a light coloured paper
            rgb = (rgb * rng.uniform(0.8, 1.0, 3)).astype(np.uint8)
        return rgb, kind


def _crop(rng: np.random.Generator, texture: np.ndarray, height: int, width: int) -> np.ndarray:
    if texture.shape[0] < height:  # taller than the pool's textures: crop at their height, scale up
        window = _crop(rng, texture, texture.shape[0], max(1, round(width * texture.shape[0] / height)))
        return cv2.resize(window, (width, height), interpolation=cv2.INTER_LINEAR)
    if texture.shape[1] < width:  # a very long line: repeat the texture, mirrored so seams match
        repeats = -(-width // texture.shape[1])
        tiles = [texture if i % 2 == 0 else texture[:, ::-1] for i in range(repeats)]
        texture = np.concatenate(tiles, axis=1)
    y = int(rng.integers(0, texture.shape[0] - height + 1))
    x = int(rng.integers(0, texture.shape[1] - width + 1))
    return texture[y : y + height, x : x + width]
