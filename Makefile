# The README's commands. `make demo` and `make test` set everything up first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-$(shell cksum requirements.lock | cut -d' ' -f1)

export PYTHONPATH := $(CURDIR)/plugins
export AIRFLOW_HOME ?= $(CURDIR)/.airflow

.PHONY: setup demo run docs test test-quick lint bench bench-scale lock clean

setup: $(INSTALLED)  ## Create .venv from the lock and prepare Airflow's home
	$(PY) -m voice_compliance init

$(INSTALLED): requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip >/dev/null
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	rm -f $(VENV)/.installed-* && touch $@

demo: setup  ## Generate sample data and run the whole pipeline through Airflow
	$(PY) -m voice_compliance demo

run: setup  ## make run LANDING=<folder|s3://bucket/prefix> WAREHOUSE=<file.duckdb>
	$(PY) -m voice_compliance run --landing "$(LANDING)" --warehouse "$(WAREHOUSE)"

docs: setup  ## Build the dbt docs site (clause map, models, tests) for the warehouse
	$(PY) -c "from voice_compliance.config import Settings; from voice_compliance import dbt_runner; print(dbt_runner.dbt_docs_generate(Settings.from_env()))"

test: setup lint  ## Lint, then every test (unit, DAGs, S3, end to end through Airflow)
	$(PY) -m pytest

test-quick: $(INSTALLED)  ## The unit tests only (seconds)
	$(PY) -m pytest -m quick

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

bench: $(INSTALLED)  ## Phone-number normalization: vectorized vs phonenumbers per row
	$(PY) benchmarks/bench_phones.py

bench-scale: $(INSTALLED)  ## Scale benchmark: SIZE=small|250k|1M|national landing zone, bare scan, every DAG, one-day increment
	$(PY) benchmarks/bench_scale.py --size $(or $(SIZE),small) $(BENCH_ARGS)

lock:  ## Recompile requirements.lock from requirements.txt
	$(VENV)/bin/uv pip compile requirements.txt --python-version 3.11 -o requirements.lock

clean:  ## Remove generated data, Airflow's home and the warehouse (keeps .venv)
	rm -rf data .airflow dbt_project/target
