# Two commands: `make run` (serve the demo pharmacy) and `make test` (the whole suite).
VENV     := .venv
PY       := $(VENV)/bin/python
FLASK    := $(VENV)/bin/flask --app wsgi
PYTHON   ?= python3
HOST     ?= 127.0.0.1
PORT     ?= 5000

.PHONY: install run test check bench bench-scale chromium clean

install: $(VENV)/.installed

# Reinstall only when the dependency list changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[test]"
	touch $@

# Browser tests drive Debian's Chromium (never a downloaded browser).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

run: install
	PHARMACY_ENV=development $(FLASK) db upgrade
	PHARMACY_ENV=development $(FLASK) demo load
	PHARMACY_ENV=development $(FLASK) run --host $(HOST) --port $(PORT)

# The tests marked date_sensitive read "today": after the whole suite (at the real date) they
# run again with the clock at each of these dates (pytest --today, time-machine): a month's
# last day, 29 February, the days US daylight saving time starts and ends, 31 December.
TEST_DATES ?= 2027-04-30 2028-02-29 2027-03-14 2027-11-07 2026-12-31

test: install chromium
	$(PY) -m pytest
	@for day in $(TEST_DATES); do \
		echo "== date-sensitive tests with the clock at $$day =="; \
		$(PY) -m pytest -q -p no:cacheprovider -m date_sensitive --today=$$day tests || exit 1; \
	done
	@echo "Date-sensitive tests passed at: today ($$(date -u +%F)) $(TEST_DATES)"

# Lint, format, types and import contracts (pyproject.toml); `make test` runs them too.
check: install
	$(PY) -m pytest -q -p no:cacheprovider tests/test_quality.py

bench: install
	$(PY) bench/bench_plan.py
	$(PY) bench/bench_labels.py
	$(PY) bench/bench_allocation.py
	$(PY) bench/bench_bad_input.py
	$(PY) bench/bench_audit.py   # routine audit check from a checkpoint vs the full check, memory

# Ten years of history against the demo on PostgreSQL (SPEC 9): page and API timings side
# by side, SQL counts, audit verification memory, then the 16-client load on both databases.
YEARS         ?= 10
BENCH_DATABASE_URL ?= postgresql+psycopg://root@127.0.0.1:5432/test
bench-scale: install
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/bench_scale.py --years $(YEARS)
	$(PY) bench/load.py --database-url $(dir $(BENCH_DATABASE_URL))b12_bench_demo
	$(PY) bench/load.py --database-url $(dir $(BENCH_DATABASE_URL))b12_bench_history

clean:
	rm -rf $(VENV) instance .pytest_cache
