# Two commands: `make run` (the app on the demo data, or DASHBOARD_DATA_DIR) and `make test`.
# Both create and reuse .venv; requirements are reinstalled only when the files change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
PYTEST_ARGS ?=

.PHONY: run test bench load demo validate clean-demo

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

# One run on two workers: the real-browser tests (marked browser) are one xdist group, so one worker drives
# chromium while the other takes the rest (their waits allow for a loaded machine).
test: $(DEV_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

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
