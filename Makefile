# One command to run the app, one to run every test; both set everything up on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench system

run: $(STAMP)
	$(VENV)/bin/studio serve

test: $(STAMP) system
	$(PY) -m ruff check studio tests bench
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check studio tests bench

bench: $(STAMP)
	$(PY) bench/accuracy.py
	$(PY) bench/latency.py

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

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
