# The README's commands. `make demo` and `make test` set everything up first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-$(shell cksum requirements.lock | cut -d' ' -f1)
# `make airflow`: host and port of the Airflow UI (AIRFLOW_PORT=8080 by default)
AIRFLOW_PORT ?= 8080

# No PYTHONPATH: `make setup` installs the package into .venv (editable), so
# .venv/bin/python and .venv/bin/voice-compliance find it from any folder.

.PHONY: setup demo run docs test test-quick lint bench bench-scale lock clean airflow airflow-stop

setup: $(INSTALLED)  ## Create .venv from the lock and prepare Airflow's home
	$(PY) -m voice_compliance init

$(INSTALLED): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip >/dev/null
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	# --compile-bytecode: every run starts several Python processes (Airflow,
	# dbt, GX); without .pyc files each one compiles its imports from source
	# (GX alone: 14 s, 6 s with them), wherever the bytecode cache cannot be
	# written (PYTHONDONTWRITEBYTECODE, a read-only install). Decision 0024.
	$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode -r requirements.lock
	# The package itself, editable, with what the lock installed (setuptools included)
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@

# The dbt manifest vc_transform is built from (decision 0017): `setup` always
# rewrites it; the quick tests need it only when a dbt project file changed.
MANIFEST := dbt_project/target/manifest.json
$(MANIFEST): $(INSTALLED) $(shell find dbt_project \( -name target -o -name logs \) -prune -o -type f -print)
	$(PY) -m voice_compliance init

demo: setup  ## Generate sample data and run the whole pipeline through Airflow
	$(PY) -m voice_compliance demo

run: setup  ## make run LANDING=<folder|s3://bucket/prefix> WAREHOUSE=<file.duckdb>
	$(PY) -m voice_compliance run --landing "$(LANDING)" --warehouse "$(WAREHOUSE)"

docs: setup  ## Build the dbt docs site (clause map, models, tests) for the warehouse
	$(PY) -c "from voice_compliance.config import Settings; from voice_compliance import dbt_runner; print(dbt_runner.dbt_docs_generate(Settings.from_env()))"

# `make test` runs the tests on TEST_WORKERS pytest-xdist workers (one per
# core here), a test module at a time; the modules reading the shared
# pipeline run stay on one worker (tests/pipeline_fixture.py).
# TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2

test: setup lint  ## Lint, then every test (unit, DAGs, S3, end to end through Airflow)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-quick: $(INSTALLED) $(MANIFEST)  ## The unit tests only (seconds)
	$(PY) -m pytest -m quick

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint --processes 0 dbt_project/models dbt_project/macros

bench: $(INSTALLED)  ## Phone-number normalization: vectorized vs phonenumbers per row
	$(PY) benchmarks/bench_phones.py

bench-scale: $(INSTALLED)  ## Scale benchmark: SIZE=small|250k|1M|national landing zone, bare scan, every DAG, one-day increment
	$(PY) benchmarks/bench_scale.py --size $(or $(SIZE),small) $(BENCH_ARGS)

airflow: setup  ## Airflow standalone (UI, scheduler, DAG processor, triggerer) with the pipeline's DAGs
	$(PY) tools/airflow_standalone.py start --port $(AIRFLOW_PORT)

airflow-stop:  ## Stop `make airflow` and every process it started
	$(PY) tools/airflow_standalone.py stop

lock:  ## Recompile requirements.lock from requirements.txt
	$(VENV)/bin/uv pip compile requirements.txt --python-version 3.11 -o requirements.lock

clean:  ## Remove generated data, Airflow's home and the warehouse (keeps .venv)
	rm -rf data .airflow dbt_project/target
