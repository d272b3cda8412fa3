"""Training, evaluation, registry and reading (CRNN on Keras 3): issue #3."""
