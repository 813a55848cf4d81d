# Every set-up step lives here, so a fresh machine with only Python 3.11 gets the same thing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch first and pinned: a dependency left to itself would pull a newer build with CUDA.
TORCH  := torch==2.13.0
# Exact versions of everything else; `make lock` re-resolves it from pyproject.toml's ranges.
LOCK   := requirements.lock
EXTRAS := dev,docs
# The demo's model size: tiny (a few minutes to a live API on 2 cores) or small (larger, slower).
SIZE   ?= tiny
# xdist workers, each running torch on its own cores; a module stays on one worker
# (loadscope), so a module fixture that trains or serves is built once.
WORKERS ?= 2
# The unit tier: no browsers, no servers, no external services, no end-to-end training.
FAST   := not slow and not browser and not postgres and not redis

.PHONY: setup demo test test-fast bench lint docs lock clean

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

demo: setup
	$(BIN)/mint quickstart --size $(SIZE)
	$(BIN)/mint serve --model demo --host 127.0.0.1 --port 8000

test: setup
	$(BIN)/pytest -q -n $(WORKERS) --dist loadscope --no-loadscope-reorder --durations=15

test-fast: $(STAMP)
	$(BIN)/pytest -q -n $(WORKERS) --dist loadscope --no-loadscope-reorder --durations=15 -m "$(FAST)"

bench: setup
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

clean:
	rm -rf $(VENV) .lock-venv .pytest_cache .mypy_cache .ruff_cache site
