# One command to run the app, one to run every test; both set everything up on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7860
PIP := $(PY) -m pip install -q --disable-pip-version-check
# The app needs requirements.txt, and requirements-nodeps.txt installed without the dependencies its
# wheels declare (see that file); the tests add requirements-dev.txt (pytest, Playwright, ruff).
APP_STAMP := $(VENV)/.installed-app
DEV_STAMP := $(VENV)/.installed-dev
# The browser files the pose page serves (MediaPipe Pose, onnxruntime-web), from npm, never from a CDN.
STATIC := studio/static
NODE_STAMP := $(STATIC)/node_modules/.installed

.PHONY: run test lint bench system

run: $(APP_STAMP) $(NODE_STAMP)
	$(VENV)/bin/studio serve --port $(PORT)

test: $(DEV_STAMP) system $(NODE_STAMP)
	$(PY) -m ruff check studio tests bench
	$(PY) -m pytest

lint: $(DEV_STAMP)
	$(PY) -m ruff check studio tests bench

bench: $(APP_STAMP)
	$(PY) bench/accuracy.py
	$(PY) bench/latency.py

$(APP_STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) -r requirements.txt
	$(PIP) --no-deps -r requirements-nodeps.txt
	$(PIP) --no-deps -e .
	touch $(APP_STAMP)

$(NODE_STAMP): $(STATIC)/package.json $(STATIC)/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix $(STATIC) --ignore-scripts --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else \
	  echo 'Note: the pose page needs npm to install MediaPipe Pose: install Node.js and npm (Debian: apt-get install nodejs npm), then run make again. Photos, sketches and sounds work without it.' >&2; \
	fi

$(DEV_STAMP): $(APP_STAMP) requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $(DEV_STAMP)

# Debian's Chromium (driven by Playwright, never downloaded), ffmpeg (fake webcam video, MP3/OGG
# decoding), sox and espeak-ng (test sounds), and Node.js with npm (the exported predict.mjs) for the tests.
DEBS := chromium ffmpeg sox espeak-ng
system:
	@if ! command -v chromium >/dev/null || ! command -v ffmpeg >/dev/null || ! command -v sox >/dev/null \
	    || ! command -v espeak-ng >/dev/null || ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  debs="$(DEBS)"; command -v node >/dev/null || debs="$$debs nodejs"; command -v npm >/dev/null || debs="$$debs npm"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$debs; \
	  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$debs; fi; \
	fi
