# Gaikan: the two entry points are `make demo` (start the demo line) and `make test` (run every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test serve-deps test-deps demo-model clean

demo: serve-deps
	$(BIN)/gaikan demo

test: test-deps
	$(BIN)/python -m pytest

# The serving install: ONNX Runtime and the web stack, no torch.
serve-deps: $(VENV)/.serve-installed
$(VENV)/.serve-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[cpu]'
	touch $@

# Everything the tests need: serving, training (torch 2.13.0 CPU), test tools.
test-deps: $(VENV)/.test-installed
$(VENV)/.test-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[cpu,train,postgres,dev]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache
