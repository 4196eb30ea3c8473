# `make run` and `make test` each set up .venv on a fresh machine, then do their job.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ROWS   ?= 20000
EMBED_ROWS ?= 5000

.PHONY: bench-500k run test test-cluster lint format bench clean load chromium console-screenshots

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

# the console tests drive Debian's chromium (no browser download at run time)
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

test: $(VENV)/.dev chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

# the multi-node suite (tests/cluster): a head and two workers started with `ray start` on this
# machine, the S3 store, `serve deploy`, `ray job submit`, a worker node lost twice; writes
# bench/results/cluster_recovery.json (about 7 minutes on 2 cores)
test-cluster: $(VENV)/.dev
	$(BIN)/python -m pytest -q -m cluster --timeout 900 tests/cluster

# the PNGs in docs/console/, taken by the console tests in headless chromium
console-screenshots: $(VENV)/.dev chromium
	LAKEHOUSE_CONSOLE_SCREENSHOTS=docs/console $(BIN)/python -m pytest -q tests/api/test_console.py

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Chroma, the baseline of bench/vectors.py and bench/peers.py, lives in its own venv: it wants
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
	$(BIN)/python bench/peers.py

# the multi-scenario load harness: 100k profiles, 50 clients, 5 minutes (issue 15);
# LOAD_ARGS="--kill-every 30" kills shard actors meanwhile, "--seconds 600 --soak" is the soak
load: $(VENV)/.dev
	$(BIN)/python bench/multitier.py $(LOAD_ARGS)

# the full 500k CSV -> Parquet -> embed -> index pipeline (about 25 minutes on 2 cores)
bench-500k: $(VENV)/.dev
	$(BIN)/python bench/ingest_500k.py

clean:
	rm -rf $(VENV) .venv-chroma data bench/results/*.tmp
