"""The one place where trdg 1.8.0 meets modern Pillow (its bundled assets: core/paths.trdg_asset).

trdg 1.8.0 (the newest on PyPI) measures text height with ``ImageFont.getsize``,
which Pillow 10 removed; the fix on trdg's main branch was never released.
``font.getbbox(text)[3]`` (the bottom of the ink, measured from the ascender
origin that trdg draws at) is the faithful replacement: bottom - top would clip
glyphs. ``computer_text_generator`` imports the function by name, so both
modules get the patched one. Call ``patch_trdg()`` before using trdg's generators.
"""

from __future__ import annotations

import contextlib
import io


def get_text_height(image_font, text: str) -> int:
    return image_font.getbbox(text)[3]


def patch_trdg() -> None:
    """Make trdg's text generator work on Pillow >= 10 (idempotent)."""
    # trdg prints "Missing modules for handwritten text generation." on import.
    with contextlib.redirect_stdout(io.StringIO()):
        from trdg import computer_text_generator, utils

    utils.get_text_height = get_text_height
    computer_text_generator.get_text_height = get_text_height
