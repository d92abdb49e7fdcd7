# NetSec Contest. `make demo` runs the whole stack; `make test` runs the suite.
# Needs only Python 3.11+ on PATH (set PYTHON=python3.12 to choose another).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint install clean translations fuzz

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $@

install: $(STAMP)

# `exec` so that Ctrl-C and SIGTERM reach the stack itself, not a shell in between.
# DEMO_LAWS=DIR: a folder of law texts the demo imports first (`contest demo --laws DIR`).
DEMO_LAWS ?=

demo: $(STAMP)
	exec $(BIN)/contest demo $(if $(DEMO_LAWS),--laws '$(DEMO_LAWS)')

test: $(STAMP)
	exec $(BIN)/python -m pytest

# The edit-test loop: the suite without the browser, slow and scaleout tests, in parallel
# (pytest-xdist; TEST_WORKERS=auto is one worker per core). Always on a SQLite file per test and an
# embedded Redis per worker: CONTEST_DATABASE_URL / CONTEST_REDIS_URL are ignored, as parallel
# workers would drop and flush each other's data there (`make test` uses them).
# ARGS: more pytest arguments, e.g. ARGS='tests/test_leaderboards.py -x'.
TEST_WORKERS ?= auto
ARGS ?=

test-fast: $(STAMP)
	@if [ -n "$$CONTEST_DATABASE_URL$$CONTEST_REDIS_URL" ]; then \
		echo "test-fast: ignoring CONTEST_DATABASE_URL / CONTEST_REDIS_URL (make test uses them)"; \
	fi
	exec env -u CONTEST_DATABASE_URL -u CONTEST_REDIS_URL $(BIN)/python -m pytest \
		-n $(TEST_WORKERS) -m 'not browser and not slow and not scaleout' $(ARGS)

# Fuzz the OpenAPI document longer than the suite does (tests/test_api_fuzz.py: schemathesis calls
# every operation as a contestant and as an organizer, FUZZ_EXAMPLES cases per operation and mode;
# about 2 minutes per 100 on SQLite). CONTEST_DATABASE_URL / CONTEST_REDIS_URL choose PostgreSQL.
FUZZ_EXAMPLES ?= 200

fuzz: $(STAMP)
	exec env CONTEST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_api_fuzz.py -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Extract the English msgids from contest/ and templates/ into messages.pot, merge them into the
# zh_CN catalogue (created when missing), then compile the .mo files. After running it, translate
# the new/empty entries in contest/translations/zh_Hans_CN/LC_MESSAGES/messages.po and run it again.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output \
		-o contest/translations/messages.pot contest question_bank templates
	if [ -f contest/translations/zh_Hans_CN/LC_MESSAGES/messages.po ]; then \
		$(BIN)/pybabel update -i contest/translations/messages.pot -d contest/translations \
			-l zh_Hans_CN --no-fuzzy-matching; \
	else \
		$(BIN)/pybabel init -i contest/translations/messages.pot -d contest/translations -l zh_Hans_CN; \
	fi
	$(BIN)/pybabel compile -d contest/translations --statistics

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache

# The load harness (bench/README.md): the stack as production runs it (gunicorn, PostgreSQL on
# 127.0.0.1:5432, a real Redis, RQ workers), wrk for throughput. Each prints its JSON summary as
# the last line and writes bench/results/latest.json. bench-smoke (≤ 3 min, with faults) runs in CI.
WRK_INSTALL = command -v wrk >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)

.PHONY: bench bench-full bench-smoke

bench: $(STAMP)
	$(WRK_INSTALL)
	exec $(BIN)/python bench/harness.py --profile standard

bench-full: $(STAMP)
	$(WRK_INSTALL)
	exec $(BIN)/python bench/harness.py --profile full

bench-smoke: $(STAMP)
	$(WRK_INSTALL)
	exec $(BIN)/python bench/harness.py --profile smoke
