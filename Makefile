# Gaikan: the two entry points are `make demo` (start the demo line) and `make test` (run every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test serve-deps test-deps browser prometheus mosquitto screenshots demo-model clean

demo: serve-deps
	$(BIN)/gaikan demo

# Two workers, each taking whole test files (module fixtures such as a shared server stay on one
# worker): the suite's waits (servers, cameras, the line process) overlap on 2 cores.
TEST_WORKERS ?= 2
test: test-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The serving install: ONNX Runtime and the web stack, no torch.
serve-deps: $(VENV)/.serve-installed
$(VENV)/.serve-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[cpu]'
	touch $@

# Everything the tests need: serving, training (torch 2.13.0 CPU), test tools, a browser.
test-deps: $(VENV)/.test-installed browser prometheus mosquitto
$(VENV)/.test-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[cpu,train,postgres,dev]'
	touch $@

# The shipped demo model package, reproduced with one command: `gaikan train` (PatchCore, 256 px,
# 2048-row memory bank) on synthetic good parts rendered with seed 11. The demo line uses seed 7 and
# part indices from 50000, so the model never sees the parts it is shown on the line.
DEMO_DATA := build/demo-parts
demo-model: test-deps
	rm -rf $(DEMO_DATA)
	$(BIN)/gaikan data synth $(DEMO_DATA) --train-good 60 --test-good 0 --test-per-defect 0 --size 256 --seed 11
	$(BIN)/gaikan train --data $(DEMO_DATA) --arch patchcore --out models/shipped/demo.zip --image-size 256 \
		--seed 0 --device cpu --name demo --version demo-1 --set bank_size=2048 --quiet

# Headless Chromium for the dashboard tests: Debian's package, installed when missing and run as
# root (as CI is); elsewhere the browser tests skip and say why.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the dashboard tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-ipafont-gothic >/dev/null; \
	fi

# Prometheus and promtool for the deploy/ tests (tests/test_deploy_stack.py): Debian's package,
# installed when missing and run as root (as CI is); elsewhere those tests skip and say why.
prometheus:
	@if [ ! -x /usr/bin/prometheus ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's prometheus for the deploy tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	fi

# The mosquitto MQTT broker for the MQTT tests (tests/test_service_mqtt.py): Debian's package,
# installed when missing and run as root (as CI is); elsewhere those tests skip and say why.
mosquitto:
	@if [ ! -x /usr/sbin/mosquitto ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's mosquitto for the MQTT tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto >/dev/null; \
	fi

# Refresh the README's dashboard screenshots (docs/dashboard*.png) from the browser tests.
screenshots: test-deps
	GAIKAN_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/test_dashboard_browser.py

clean:
	rm -rf $(VENV) .pytest_cache
