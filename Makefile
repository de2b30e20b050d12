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

# One run on two workers, each test file on one worker (--dist loadfile): the real-browser tests of
# tests/test_browser.py share one app server and one chromium, mostly waiting on them, while the other worker
# takes the other files; a file's module-wide exports and model are built once. (xdist 3.8's loadgroup does
# not group on pytest 9: its group suffix on the node id is ignored.)
test: $(DEV_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

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
