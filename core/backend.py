"""Choosing the Keras backend (before Keras is imported), and importing it without start-up noise."""

import importlib
import importlib.util
import os
import sys

from core.errors import InputError

# The package each Keras backend needs, and what installs it.
BACKEND_PACKAGES = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "torch": ("torch", "torch"), "jax": ("jax", "jax")}


class BackendError(InputError):
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
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's notices about CPU features
    if importlib.util.find_spec("tensorflow"):  # Keras imports it whatever the backend (saving, data)
        import_quietly("tensorflow")
    import_quietly("keras")


def import_quietly(module: str) -> None:
    """Import with file descriptor 2 on /dev/null: TensorFlow's C++ start-up notices (oneDNN,
    absl's "before InitializeLog") are written there during import, whatever TF_CPP_MIN_LOG_LEVEL
    says. A failing import still raises, with its Python traceback."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        importlib.import_module(module)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
