# NetSec Contest. `make demo` runs the whole stack; `make test` runs the suite.
# Needs only Python 3.11+ on PATH (set PYTHON=python3.12 to choose another).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install clean translations

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $@

install: $(STAMP)

# `exec` so that Ctrl-C and SIGTERM reach the stack itself, not a shell in between.
demo: $(STAMP)
	exec $(BIN)/contest demo

test: $(STAMP)
	exec $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Recompile the message catalogues after editing contest/translations/*/LC_MESSAGES/messages.po.
translations: $(STAMP)
	$(BIN)/pybabel compile -d contest/translations

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
