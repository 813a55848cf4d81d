# Every set-up step lives here, so a fresh machine with only Python 3.11 gets the same thing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch first and pinned: a dependency left to itself would pull a newer build with CUDA.
TORCH  := torch==2.13.0

.PHONY: setup demo test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') else f'torch {v} replaced 2.13.0')"
	touch $(STAMP)

# Browser tests drive Debian's Chromium (never a downloaded browser); the CJK fonts let its
# screenshots of the Chinese UI show characters rather than boxes.
BROWSER := /usr/bin/chromium /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

$(BROWSER):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null

setup: $(STAMP) $(BROWSER)

demo: setup
	$(BIN)/mint quickstart --size small
	$(BIN)/mint serve --model demo --host 127.0.0.1 --port 8000

test: setup
	$(BIN)/pytest -q

bench: setup
	@for b in $(wildcard benchmarks/*.py); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python ../shared/tools/check_layers.py .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
