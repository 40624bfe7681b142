# adl-runner: `make help` lists the targets. Everything runs inside .venv, created on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED_DATA := $(abspath ../shared/datasets)
# Real data: RUNNER_DATA_DIR if set, else the shared datasets beside this checkout when present.
export RUNNER_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),$(CURDIR)/data)
ARGS ?=

.PHONY: help install run test test-full bench bench-quick lint reproduce clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null
	$(BIN)/pip install -e '.[test]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the runner with its test tools

run: $(STAMP) ## train the default experiment (MLP on MNIST); pass more with ARGS="model=cnn ..."
	$(BIN)/run $(ARGS)

test: $(STAMP) ## the fast test suite (what CI runs)
	$(BIN)/pytest -q

test-full: $(STAMP) ## every test, the slow ones included
	$(BIN)/pytest -q -m ''

bench: $(STAMP) ## benchmarks: ratios against plain Keras, written under benchmarks/results/
	$(BIN)/python benchmarks/run.py

bench-quick: $(STAMP) ## the same benchmarks with tiny settings (minutes; ratios noisier)
	$(BIN)/python benchmarks/run.py --quick

# mypy checks the typed public API (pyproject.toml [tool.mypy]): the kernel, the run dir and the report command.
MYPY_PACKAGES := adl_runner.kernel adl_runner.runner.rundir adl_runner.runner.report adl_runner.runner.reports

lint: $(STAMP) ## ruff, mypy on the public API, byte-compile everything, check the configs compose
	$(BIN)/ruff check --quiet .
	$(BIN)/mypy $(addprefix -p ,$(MYPY_PACKAGES))
	$(BIN)/python -m compileall -q src tests benchmarks
	$(BIN)/run --cfg job > /dev/null

reproduce: $(STAMP) ## the book tables of chapter 1 on real MNIST (about an hour on 2 CPU cores)
	$(BIN)/run -m experiment=book/table_1_3_3
	$(BIN)/run -m experiment=book/table_1_4_1
	$(BIN)/run -m experiment=book/table_1_5_1

clean: ## remove the venv and build leftovers (run dirs in outputs/ are kept)
	rm -rf $(VENV) build dist src/*.egg-info
