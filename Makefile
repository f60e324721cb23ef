# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/python -m tests.browser
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	$(BIN)/ruff check reconciler tests bench
	$(BIN)/mypy

# OCTODNS_PYTHON=/path/to/python (an interpreter that can import octodns) adds the octoDNS comparison.
bench: $(STAMP)
	$(BIN)/python bench/plan_scale.py $(if $(OCTODNS_PYTHON),--octodns-python $(OCTODNS_PYTHON))
	$(BIN)/python bench/apply_rate.py
	$(BIN)/python bench/number_checks.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
