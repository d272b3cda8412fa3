# The two commands of the README. Each creates .venv and installs what it needs.
#   make run    the main job: render the dataset of params.yaml, verify it, write a preview,
#               train the CRNN (CPU profile), evaluate it on the test split
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

run: $(INSTALLED)
	$(BIN)/ocrpipe render --split train --split val --split test
	$(BIN)/ocrpipe shards verify data/shards/*/shard-*.tar
	$(BIN)/ocrpipe shards preview data/shards/train/shard-00000.tar --out data/preview.png
	$(BIN)/ocrpipe train
	$(BIN)/ocrpipe evaluate --model models/crnn.keras --data data/shards/test --out metrics/eval.json

test: $(INSTALLED)
	$(BIN)/pytest

bench: $(INSTALLED)
	$(BIN)/python bench/render.py
