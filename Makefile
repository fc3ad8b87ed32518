# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
STAMP := $(VENV)/.installed
# pytest-xdist workers: one per available core (2 on the CI machine), at most 8 (the longest
# module, ~5 min, bounds the time past that); 0 runs the suite in one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n > 8 ? 8 : n )))

.PHONY: run test lint bench clean-results

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e '.[dev,postgres,slurm]'
	touch $(STAMP)

run: $(STAMP)
	snakemake --cores all

lint: $(STAMP)
	ruff check .
	ruff format --check reid tests benchmarks
	snakefmt --check .
	snakemake --lint

test: $(STAMP) lint
	python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench: $(STAMP)
	python benchmarks/run_all.py

clean-results:
	rm -rf results/runs results/tables results/optuna results/report results/logs results/benchmarks
