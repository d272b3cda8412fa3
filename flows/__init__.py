"""Prefect flows and deployments that orchestrate the steps in synth/ and training/: issue #4."""
