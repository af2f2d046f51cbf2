# The two commands a newcomer needs: `make run` (the demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install model run serve test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The classifier's first model, from the shipped examples alone (about a minute, once): without it a new
# county runs on the rules alone until its first weekly retrain. Same examples, same model. A model file
# that is there and readable is kept (one of an older format is rebuilt).
model: install
	$(BIN)/gridline classify train --shipped-only --if-unusable

# The demo: a made-up county, WeChat faked in-process, the chat simulator at /sandbox.
run: model
	$(BIN)/gridline demo --host $(HOST) --port $(PORT)

# Production: the real channels, configured by GRIDLINE_* variables or .env.
serve: install
	$(BIN)/gridline db upgrade
	$(BIN)/gridline classify train --if-unusable
	$(BIN)/gridline serve --host $(HOST) --port $(PORT)

test: install
	bash scripts/test.sh

bench: install
	$(BIN)/python bench/callback.py

clean:
	rm -rf $(VENV) var .pytest_cache
