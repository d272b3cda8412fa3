"""Torch's fused LSTM kernel for Keras LSTMs on the CPU.

Keras 3's torch backend (keras/src/backend/torch/rnn.py) hands an LSTM to torch's own
kernel, `torch._VF.lstm`, only on CUDA; on the CPU it steps through time in a Python loop
(`_fallback_lstm`): eight small ops per frame, each direction of each BiLSTM, forward and
backward. The kernel runs on the CPU as well, with the same weights and the same arithmetic
(gates i, f, c, o; tested against the loop), in far less time: the README gives the
figures (`bench/train.py --keras-lstm`). One small patch, installed by `use_native_lstm()`;
it steps aside (back to Keras's own path) for anything the kernel does not do: masks,
unrolling, other activations.
"""

from __future__ import annotations

import contextlib
import importlib

_installed = False
_keras_lstm = None  # Keras's own backend.lstm, for keras_own_lstm()


def use_native_lstm() -> None:
    """Route Keras's backend.lstm through torch's kernel on the CPU; a no-op on other backends."""
    global _installed, _keras_lstm
    import keras

    if _installed or keras.backend.backend() != "torch":
        return
    import torch

    backend = importlib.import_module("keras.src.backend")  # the module LSTM.inner_loop calls
    rnn = importlib.import_module("keras.src.backend.torch.rnn")
    _keras_lstm = own = backend.lstm

    def lstm(
        inputs, state_h, state_c, mask, kernel, recurrent_kernel, bias, activation, recurrent_activation, **options
    ):
        kernel, inputs = rnn.convert_to_tensor(kernel), rnn.convert_to_tensor(inputs)
        plain = (
            mask is None
            and inputs.device.type == "cpu"  # on CUDA Keras takes this kernel itself, through cuDNN
            and bias is not None
            and not options.get("unroll", False)
            and options.get("batch_first", True)
            and activation in (keras.activations.tanh, keras.ops.tanh, torch.tanh)
            and recurrent_activation in (keras.activations.sigmoid, keras.ops.sigmoid, torch.sigmoid)
        )
        if not plain:
            return own(inputs, state_h, state_c, mask, kernel, recurrent_kernel, bias, activation,
                       recurrent_activation, **options)  # fmt: skip
        inputs = inputs.to(kernel.dtype)
        if options.get("go_backwards", False):  # as Keras does: outputs stay in the order computed
            inputs = torch.flip(inputs, dims=[1])
        state_h, state_c = (rnn.convert_to_tensor(state).to(kernel.dtype) for state in (state_h, state_c))
        recurrent_kernel, bias = rnn.convert_to_tensor(recurrent_kernel), rnn.convert_to_tensor(bias)
        # Despite its name, _cudnn_lstm is torch._VF.lstm on any device.
        return rnn._cudnn_lstm(inputs, state_h, state_c, kernel, recurrent_kernel, bias,
                               options.get("return_sequences", False), inputs.device)  # fmt: skip

    backend.lstm = lstm
    _installed = True


@contextlib.contextmanager
def keras_own_lstm():
    """Keras's own CPU path for the duration: the baseline in bench/train.py and the tests."""
    backend = importlib.import_module("keras.src.backend")
    native, backend.lstm = backend.lstm, _keras_lstm or backend.lstm
    try:
        yield
    finally:
        backend.lstm = native
