# `make run` and `make test` each set up .venv on a fresh machine, then do their job.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ROWS   ?= 20000
EMBED_ROWS ?= 5000

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# runtime dependencies; re-installed when pyproject.toml changes
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# runtime + test/lint tools
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/python -m deployments.demo --rows $(ROWS) --embed-rows $(EMBED_ROWS)

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@ $(VENV)/.dev $(VENV)/.runtime

# every benchmark, one after another (about 15 minutes on 2 cores); results in bench/results/
bench: $(VENV)/.bench
	$(BIN)/python bench/lakehouse.py
	$(BIN)/python bench/embed.py
	$(BIN)/python bench/vectors.py
	$(BIN)/python bench/vectors.py --staffing 20000
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/pathway.py

clean:
	rm -rf $(VENV) data bench/results/*.tmp
