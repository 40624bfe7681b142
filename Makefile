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

.PHONY: help install run test test-full bench bench-quick lint reproduce records record-set record-table record clean

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

# The chapter-1 book tables: `make reproduce` runs their sweeps into $(BOOK_RUNS)/<table> (a re-run resumes),
# `make records` copies each job's small files to docs/results/runs/<table>/<job>/ and regenerates
# docs/results/<table>.md/.csv from them (run it from a clean checkout: run.json records the commit).
BOOK_RUNS ?= outputs/book
BOOK_TABLES := table_1_3_3 table_1_4_1 table_1_5_1
RECORD_FILES := config.yaml metrics.json history.csv run.json samples.png

reproduce: $(STAMP) ## the book tables of chapter 1 on real MNIST (about an hour on 2 CPU cores)
	for t in $(BOOK_TABLES); do $(BIN)/run -m experiment=book/$$t logger.tensorboard=false hydra.sweep.dir=$(BOOK_RUNS)/$$t || exit; done

# $(call copy_records,SWEEP,SET): each finished job of the sweep dir to docs/results/runs/SET/<job>/ (its RECORD_FILES).
copy_records = for job in $(1)/*/; do [ -f "$$job/metrics.json" ] || continue; \
	  dest="docs/results/runs/$(2)/$$(basename "$$job")"; mkdir -p "$$dest"; \
	  for f in $(RECORD_FILES); do [ ! -f "$$job$$f" ] || cp "$$job$$f" "$$dest/" || exit; done; done

# $(call record_table,SWEEP,TABLE): copy_records, then docs/results/TABLE.md/.csv regenerated from the records.
record_table = $(call copy_records,$(1),$(2)); $(BIN)/run-report docs/results/runs/$(2) --table book/$(2) --docs docs/results

records: $(STAMP) ## copy the chapter-1 sweeps' run records into docs/results/runs/ and regenerate their tables
	for t in $(BOOK_TABLES); do $(call record_table,$(BOOK_RUNS)/$$t,$$t) || exit; done

# Any sweep (a comparison preset's, or `run -m ... seed=1,2,3`): its records to docs/results/runs/$(SET)/ and the page
# of mean ± std per configuration (run-report seeds-doc; a preset's records name their page, else docs/results/$(SET).md).
record-set: $(STAMP) ## copy SWEEP=<sweep dir>'s run records to docs/results/runs/SET=<name>/ and write its seeds page
	@[ -n "$(SWEEP)" ] && [ -n "$(SET)" ] || { echo "usage: make record-set SWEEP=<sweep dir> SET=<name>"; exit 2; }
	$(call copy_records,$(SWEEP),$(SET))
	$(BIN)/run-report seeds-doc docs/results/runs/$(SET) --docs docs/results

# Any book-table sweep (`run -m experiment=book/<table> ...`, a CPU budget added): its records and its table.
record-table: $(STAMP) ## copy SWEEP=<book-table sweep dir>'s run records to docs/results/runs/TABLE=<table>/ and regenerate its table
	@[ -n "$(SWEEP)" ] && [ -n "$(TABLE)" ] || { echo "usage: make record-table SWEEP=<sweep dir> TABLE=<table, e.g. table_13_6_1>"; exit 2; }
	$(call record_table,$(SWEEP),$(TABLE))

# One finished run (a job dir of a sweep too): its record to docs/results/runs/$(NAME)/, FIGURES shrunk to 640 px wide.
record: $(STAMP) ## copy RUN=<run dir>'s record to docs/results/runs/NAME=<name>/ (FIGURES="a.png b.png": shrunk copies)
	@[ -n "$(RUN)" ] && [ -n "$(NAME)" ] || { echo "usage: make record RUN=<run dir> NAME=<name> [FIGURES=...]"; exit 2; }
	$(BIN)/run-report record "$(RUN)" "$(NAME)" $(addprefix --figure ,$(FIGURES))

clean: ## remove the venv and build leftovers (run dirs in outputs/ are kept)
	rm -rf $(VENV) build dist src/*.egg-info
