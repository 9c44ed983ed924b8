# Two commands matter: `make demo` and `make test`. Both run `make setup` first when needed.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
# The torch/torchvision pair that installs offline on our CI machines (pip takes both from local disk).
# pyproject.toml keeps open ranges for users; only this Makefile pins.
TORCH_PAIR ?= torch==2.14.1 torchvision==0.29.1
STAMP   := $(VENV)/.installed

.PHONY: setup test demo bench clean browser mutation

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_PAIR)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q tests

demo: setup
	$(BIN)/firered-ocr demo --out runs/demo

# Mutation testing (tests/mutation/run_mutation.py, docs/testing.md): every module listed in pyproject.toml's
# [tool.firered-mutation.modules], or only MODULES="path/a.py path/b.py"; MUTATION_ARGS="--max-minutes 20" etc.
MODULES ?=
MUTATION_ARGS ?=
mutation: setup
	$(BIN)/python tests/mutation/run_mutation.py $(MODULES) $(MUTATION_ARGS)

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf runs .pytest_cache
