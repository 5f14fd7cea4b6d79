# Two commands: `make run` (serve the demo pharmacy) and `make test` (the whole suite).
VENV     := .venv
PY       := $(VENV)/bin/python
FLASK    := $(VENV)/bin/flask --app wsgi
PYTHON   ?= python3
HOST     ?= 127.0.0.1
PORT     ?= 5000

.PHONY: install run test bench bench-scale chromium clean

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

test: install chromium
	$(PY) -m pytest

bench: install
	$(PY) bench/bench_plan.py
	$(PY) bench/bench_labels.py
	$(PY) bench/bench_allocation.py

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
