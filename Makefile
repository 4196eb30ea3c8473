# `make run` and `make test` each set up .venv on a fresh machine, then do their job.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ROWS   ?= 20000
EMBED_ROWS ?= 5000

.PHONY: bench-500k run test lint format bench clean load soak

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

# the multi-scenario load harness against a running `make run` (LOAD_S seconds, 50 clients)
LOAD_S ?= 300
load: $(VENV)/.dev
	$(BIN)/python -m bench.multitier --url http://127.0.0.1:8000 --clients 50 --duration $(LOAD_S)

soak: $(VENV)/.dev
	$(BIN)/python -m bench.multitier --url http://127.0.0.1:8000 --clients 50 --duration 600 --soak

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Chroma, the comparison baseline of bench/vectors.py, lives in its own venv: it wants
# versions of shared packages (python-dateutil 4) that botocore does not accept.
.venv-chroma/bin/python:
	$(PYTHON) -m venv .venv-chroma
	.venv-chroma/bin/pip install --quiet 'chromadb>=1.0,<2' numpy

# every benchmark but the 500k ingest, one after another (about 25 minutes on 2 cores);
# results in bench/results/
bench: $(VENV)/.dev .venv-chroma/bin/python
	$(BIN)/python bench/lakehouse.py
	$(BIN)/python bench/embed.py
	$(BIN)/python bench/vectors.py
	$(BIN)/python bench/vectors.py --shards 2
	$(BIN)/python bench/vectors.py --staffing 20000
	$(BIN)/python bench/matrix.py
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/pathway.py

# the full 500k CSV -> Parquet -> embed -> index pipeline (about 25 minutes on 2 cores)
bench-500k: $(VENV)/.dev
	$(BIN)/python bench/ingest_500k.py

clean:
	rm -rf $(VENV) .venv-chroma data bench/results/*.tmp
