"""Keeps the libraries' own warnings, load failures and advisories off a user's terminal.

:func:`quiet_libraries` runs when :mod:`modelmint.cli` is imported, which every command does
before it loads torch or transformers, so it can set what those libraries read once, as they
load. It quiets:

- torchao's ``Failed to load .../_C_mxfp8...so`` and ``_C_cutlass_90a`` lines: optional GPU
  kernels it tries to load on import (transformers imports torchao with every model), logged
  as warnings on the ``torchao`` logger;
- torch's ``_pytree`` lines about ``register_constant()`` on Enum subclasses, which torchao
  calls on import, logged as warnings on ``torch.utils._pytree``;
- transformers' advisories (its verbosity: errors only) and the Hugging Face progress bars,
  which would interleave with our own;
- Python warnings (FutureWarning, DeprecationWarning, UserWarning ...) raised inside the
  machine-learning libraries. Warnings raised in modelmint's own code still show, and
  ``-W``/``PYTHONWARNINGS`` given by the user take precedence over these filters.

Errors still show: a library that fails says so.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

# Libraries whose Python warnings are theirs to act on, not a user's (module names, with
# their submodules).
LIBRARIES = (
    "accelerate",
    "datasets",
    "huggingface_hub",
    "peft",
    "safetensors",
    "sklearn",
    "tokenizers",
    "torch",
    "torchao",
    "transformers",
)
# Loggers that print load failures and deprecations of one library's use of another.
LOGGERS = ("torchao", "torch.utils._pytree")


def quiet_libraries() -> None:
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    # transformers reads both when it is imported; set before, they cost no import here.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:  # imported already (by a program that imports the CLI)
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    if not sys.warnoptions:
        pattern = rf"({'|'.join(LIBRARIES)})(\.|$)"
        warnings.filterwarnings("ignore", module=pattern)
