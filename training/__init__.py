"""Training, evaluation, registry and reading (CRNN on Keras 3)."""

import os


def use_backend(backend: str) -> None:
    """Keras reads KERAS_BACKEND once, at import: set it from params unless the environment did."""
    os.environ.setdefault("KERAS_BACKEND", backend)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notices about CPU features
