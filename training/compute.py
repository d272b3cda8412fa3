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
"""

from __future__ import annotations

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
