"""Training, evaluation, registry and reading (CRNN on Keras 3)."""

import importlib.util
import os

# The package each Keras backend needs, and what installs it.
BACKEND_PACKAGES = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "torch": ("torch", "torch"), "jax": ("jax", "jax")}


class BackendError(ValueError):
    """The Keras backend asked for is not installed; the message names who asked and what to install."""


def use_backend(backend: str, field: str = "read.backend") -> None:
    """Keras reads KERAS_BACKEND once, at import: set it from params unless the environment did.

    A backend that is not installed is an error naming where it was asked for (KERAS_BACKEND or
    the params field) and the package to install, not a ModuleNotFoundError from deep in Keras.
    """
    chosen = os.environ.get("KERAS_BACKEND", backend)
    module, package = BACKEND_PACKAGES.get(chosen, (chosen, chosen))
    if importlib.util.find_spec(module) is None:
        asked = "KERAS_BACKEND" if "KERAS_BACKEND" in os.environ else f"params {field}"
        raise BackendError(f"{asked}: Keras backend {chosen!r} is not installed here (pip install {package})")
    os.environ.setdefault("KERAS_BACKEND", chosen)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notices about CPU features
