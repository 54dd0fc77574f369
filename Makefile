# The two commands of the README: `make run` (the service, SQLite by default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install upgrade lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

upgrade: install
	$(BIN)/pipeline db upgrade

run: upgrade
	$(BIN)/pipeline run

test: install
	$(BIN)/pytest -q tests

lint: install
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/mypy pipeline

bench: install
	$(BIN)/python bench/bench_poll.py
	$(BIN)/python bench/bench_poll_changed.py
	$(BIN)/python bench/bench_tagging.py
	$(BIN)/python bench/bench_arl.py
	$(BIN)/python bench/soak_service.py --cycles 40

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
