"""The CRNN: convolutional features -> map-to-sequence -> bidirectional LSTMs -> per-frame classes.

Shi, Bai and Yao, "An End-to-End Trainable Neural Network for Image-based Sequence
Recognition" (2015). Named stages, as in clovaai's deep-text-recognition-benchmark:
each is a small function, swappable on its own. Width is free: one time step per
PIXELS_PER_STEP pixels of the input line (two 2x2 pools; the others are 2x1 so the width survives).

One change to the paper: the output layer reads the per-frame convolutional features
beside the LSTMs' output (a shortcut). Through two freshly initialised BiLSTMs, CTC
sits for hundreds of steps on its all-blank plateau: on 16 digit lines the plain stack
was still at loss 12.9 after 200 Adam steps, the shortcut at 0.02 after 160. The
LSTMs then add the context the convolutions cannot see.
"""

from __future__ import annotations

import contextlib

import keras
from keras import layers

from core.params import Model as ModelParams
from training.compute import PORTABLE, Compute
from training.torch_lstm import use_native_lstm


def feature_extraction(x, params: ModelParams, compute: Compute):
    data_format = "channels_first" if compute.channels_first else "channels_last"
    if compute.channels_first:
        x = layers.Permute((3, 1, 2), name="to_nchw")(x)
    for number, block in enumerate(params.conv, 1):
        x = layers.Conv2D(
            block.filters, block.kernel, padding="same", use_bias=False, data_format=data_format, name=f"conv{number}"
        )(x)
        x = layers.BatchNormalization(axis=1 if compute.channels_first else -1, name=f"bn{number}")(x)
        x = layers.ReLU(name=f"relu{number}")(x)
        if block.pool != "none":
            size = (2, 2) if block.pool == "2x2" else (2, 1)
            x = layers.MaxPooling2D(size, data_format=data_format, name=f"pool{number}")(x)
    return x


def map_to_sequence(x, params: ModelParams, compute: Compute):
    """(batch, height', width', channels) -> (batch, width', height' * channels): one frame per column
    (from (batch, channels, height', width') when channels first: the same frames)."""
    pools = sum(block.pool != "none" for block in params.conv)
    features = (params.height // 2**pools) * params.conv[-1].filters
    order = (3, 2, 1) if compute.channels_first else (2, 1, 3)
    x = layers.Permute(order, name="columns_first")(x)
    return layers.Reshape((-1, features), name="to_sequence")(x)


def sequence_modelling(x, params: ModelParams):
    for number in range(1, params.lstm_layers + 1):
        lstm = layers.LSTM(params.lstm_units, return_sequences=True, dropout=params.dropout)
        x = layers.Bidirectional(lstm, name=f"bilstm{number}")(x)
    return x


def prediction(x, classes: int, head_units: int):
    """Per-frame class scores; through a narrow linear layer first when head_units > 0.

    The output layer is most of a CRNN's arithmetic with thousands of classes (frames x
    inputs x classes); a 128-wide bottleneck in front of it, as PP-OCR's heads have, makes
    it several times cheaper (a low-rank factorisation of the same linear map).
    """
    if head_units:
        x = layers.Dense(head_units, name="head")(x)
    return layers.Dense(classes, name="logits")(x)


def build_crnn(params: ModelParams, charset_size: int, compute: Compute = PORTABLE) -> tuple[keras.Model, keras.Model]:
    """(training model with logits, inference model with probabilities); they share weights.

    Classes: 0 is the CTC blank, charset character i is class i + 1. The compute
    (training/compute.py) changes how the arithmetic runs, not the weights: models built
    with any compute hold the same weights, layer by layer.
    """
    use_native_lstm()  # on torch, the LSTMs of every model in this process run on torch's kernel
    with dtype_policy(compute.dtype):
        image = keras.Input((params.height, None, 1), name="image")
        frames = map_to_sequence(feature_extraction(image, params, compute), params, compute)
        context = sequence_modelling(frames, params)
        features = layers.Concatenate(name="frames_and_context")([frames, context])
        logits = prediction(features, charset_size + 1, params.head_units)
        probabilities = layers.Softmax(name="probabilities")(logits)
    return keras.Model(image, logits, name="crnn_train"), keras.Model(image, probabilities, name="crnn")


@contextlib.contextmanager
def dtype_policy(name: str):
    """Layers made inside compute with this Keras dtype policy (each keeps it when saved)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
