# The two commands of the README. Each creates .venv and installs what it needs.
#   make run    the main job: the Prefect pipeline on this machine (a temporary local Prefect
#               server, the local DVC remote, the CPU profile of params.yaml): render, train,
#               evaluate, gate, register; only stale stages run
#   make test   the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test bench

# pip 24.0: trdg 1.8.0 pins arabic-reshaper 2.1.3, whose metadata pip >= 24.1 rejects.
$(INSTALLED): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'pip==24.0'
	$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[test]'
	touch $@

# Prefect's telemetry cannot reach the network from every machine; its failure is only noise.
run: $(INSTALLED)
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/ocrpipe pipeline

test: $(INSTALLED)
	$(BIN)/pytest

bench: $(INSTALLED)
	$(BIN)/python bench/render.py
