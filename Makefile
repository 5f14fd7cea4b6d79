# Two commands: `make run` (serve the demo pharmacy) and `make test` (the whole suite).
VENV     := .venv
PY       := $(VENV)/bin/python
FLASK    := $(VENV)/bin/flask --app wsgi
PYTHON   ?= python3
HOST     ?= 127.0.0.1
PORT     ?= 5000

.PHONY: install run test bench chromium clean

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

clean:
	rm -rf $(VENV) instance .pytest_cache
