# apc — the two commands a new user runs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-fast docs lint clean

setup: $(STAMP)

# torch==2.13.0 first: on these machines that pin takes the CPU build on disk; the
# project's own range (torch>=2.3) is then already satisfied and pulls nothing more.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/apc demo
	$(BIN)/apc bench run benchmarks/quick.toml --out runs/quick --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not realdata"

# Runs every tutorial (docs/hooks/tutorial_outputs.py: APC_DOCS_JOBS=2 at a time, outputs
# cached in .apc-cache/docs-tutorials); APC_DOCS_EXECUTE=0 builds without running them.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check apc tests

clean:
	rm -rf $(VENV) build *.egg-info .apc-cache site
