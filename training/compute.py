"""How training computes on this machine: the precision and memory layout of the CRNN's arithmetic.

Neither changes the weights or what is saved (models are saved as float32, channels last,
readable on any backend); they change how fast a training step runs:

- bfloat16: the layers compute in bfloat16 over float32 weights (Keras's `mixed_bfloat16`
  policy; CTC itself in float32). On a CPU with native bfloat16 (AMX or AVX512-BF16, as
  recent Xeons have) torch's convolutions and matrix products run several times faster
  in it; without it they would be emulated, slower than float32: `auto` takes it only where
  the CPU has it.
- channels first (torch): torch convolves and pools NCHW tensors; Keras's default NHWC makes
  its torch backend transpose the feature maps around every convolution and pool, copies
  that cost more than the convolutions of this small model. The model takes the same
  NHWC images and hands the same frames on; only the convolution stack runs NCHW.
- freed memory kept (glibc): see keep_freed_memory.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

NATIVE_BF16_FLAGS = {"amx_bf16", "avx512_bf16"}


@dataclass(frozen=True)
class Compute:
    dtype: str = "float32"  # a Keras dtype policy: float32 or mixed_bfloat16
    channels_first: bool = False

    def __str__(self) -> str:
        return f"{'bfloat16' if self.dtype == 'mixed_bfloat16' else self.dtype}, {'NCHW' if self.channels_first else 'NHWC'}"


PORTABLE = Compute()  # how models are saved and read


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        flags = {word for line in cpuinfo.read_text().splitlines() if line.startswith("flags") for word in line.split()}
    except OSError:  # not Linux: no way to tell, so no
        return False
    return bool(flags & NATIVE_BF16_FLAGS)


def training_compute(precision: str, backend: str) -> Compute:
    """The compute for train.precision (auto, float32, bfloat16) on a Keras backend."""
    bf16 = precision == "bfloat16" or (precision == "auto" and backend == "torch" and cpu_has_native_bf16())
    return Compute("mixed_bfloat16" if bf16 else "float32", channels_first=backend == "torch")


# glibc's mallopt options (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
KEPT_FREE = 2**30  # free memory the heap may hold before giving it back to the kernel


def keep_freed_memory(backend: str) -> bool:
    """Let glibc's malloc hand freed tensors' memory to the next step instead of the kernel.

    A training step allocates and frees the same feature maps and gradients, many of them
    tens of megabytes. glibc serves a block above its mmap threshold (at most 32 MB) with
    fresh pages from the kernel and unmaps them when it is freed, so every step faults all
    of them in again and the kernel zeroes them: 300,000 page faults a second and half of
    the CPU time in the kernel while the base model trained (sitting 10). With mmap off,
    every block comes from the heap, which keeps up to KEPT_FREE of freed memory for the
    next step: 25.9 -> 38.6 lines/s on the base profile as sitting 10 grew it (torch, 2
    cores), 20.7 -> 2.0 million page faults (bench/train.py with --malloc-defaults, then
    without). Process-wide and for good: call it in a process that trains. Returns False
    where the C library has no mallopt (not glibc: macOS, musl, Windows), and on backends
    other than torch, where it was not measured."""
    if backend != "torch":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # TypeError: Windows loads no library by None
        return False
    settings = {M_MMAP_MAX: 0, M_TRIM_THRESHOLD: KEPT_FREE, M_TOP_PAD: 64 * 2**20}
    applied = [mallopt(option, value) == 1 for option, value in settings.items()]  # each tried
    return all(applied)
