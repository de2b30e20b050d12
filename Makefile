# Two commands: `make run` (the app on the demo data, or DASHBOARD_DATA_DIR) and `make test`.
# Both create and reuse .venv; requirements are reinstalled only when the files change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
SPARK_STAMP := $(VENV)/.spark-installed
PYTEST_ARGS ?=

.PHONY: run test test-spark bench load demo validate clean-demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(RUNTIME_STAMP)
	$(BIN)/python -m dashboard prepare-demo
	$(BIN)/python -m streamlit run streamlit_app.py

# The real-browser tests (marked browser: one app server and one chromium, mostly waiting on them) run in a
# second process beside the other tests on two workers, instead of after them; their log is printed at the end
# and either run failing fails the target.
test: $(DEV_STAMP)
	@$(BIN)/python -m pytest -m browser -p no:cacheprovider $(PYTEST_ARGS) > .browser-tests.log 2>&1 & browser=$$!; \
	$(BIN)/python -m pytest -n 2 -m "not browser and not spark" $(PYTEST_ARGS); others=$$?; \
	wait $$browser; browser_status=$$?; \
	echo "=== real-browser tests (pytest -m browser) ==="; cat .browser-tests.log; \
	exit $$(( others != 0 ? others : browser_status ))

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

demo: $(RUNTIME_STAMP)
	$(BIN)/python -m dashboard demo-data --out data/demo

validate: $(RUNTIME_STAMP)
	$(BIN)/python -m dashboard validate

clean-demo:
	rm -rf data/demo

load: $(DEV_STAMP)
	$(BIN)/python -m bench.load

# The Spark engine (optional): Java 17 and requirements-spark.txt, then every node and query on local Spark
# against DuckDB, and the app served from a Spark-prepared folder. Not part of `make test` (see README).
$(SPARK_STAMP): requirements-spark.txt $(DEV_STAMP)
	@command -v java >/dev/null 2>&1 || { export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
	$(BIN)/python -m pip install --quiet -r requirements-spark.txt
	touch $@

test-spark: $(SPARK_STAMP)
	$(BIN)/python -c "from dashboard.engines import parity; parity.reset()"
	DASHBOARD_REQUIRE_SPARK=1 $(BIN)/python -m pytest -m spark --basetemp=.state/spark-tests $(PYTEST_ARGS); status=$$?; \
		$(BIN)/python -m dashboard.engines.parity; exit $$status
