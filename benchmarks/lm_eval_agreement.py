"""lm-evaluation-harness against ``mint serve``, agreement with direct computation
(the bar: exact to 1e-4).

A micro Llama (~100k parameters, 600-token BPE) learns the answers of most questions of two
tasks shipped in tests/lm_eval_tasks: ``mint_choice`` (12 multiple-choice questions, 36
loglikelihood requests) and ``mint_answer`` (10 generate-until questions, greedy). It is
registered in a fresh MINT_HOME and served by ``mint serve`` in a subprocess; ``lm_eval
--model local-completions`` (remote tokenizer backend, token-id prompts, echo + logprobs)
runs both tasks against it with ``--log_samples``. The same questions are then answered
in-process with plain torch and transformers (a forward pass per context + continuation;
``model.generate`` greedy), and compared request by request.

Run: ``.venv/bin/python benchmarks/lm_eval_agreement.py`` (about a minute and a half on 2
cores). The last line printed is one JSON object: ``max_abs_loglikelihood_diff`` over the 36
requests, ``generations_identical``, both tasks' scores each way and ``scores_equal``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

# tests/ holds the tasks and the run shared with tests/gateway/test_lm_eval_harness.py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from lm_eval_support import (
    MODEL,
    DirectScorer,
    agreement,
    mint_serve,
    prepare_home,
    run_harness,
)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mint-bench-lm-eval-") as tmp:
        home = Path(tmp)
        print("training the task model and registering it ...", flush=True)
        key = prepare_home(home)
        with mint_serve(home) as base:
            print(f"mint serve on {base}; running lm_eval ...", flush=True)
            run = run_harness(home, base, key, home / "lm-eval-out")
        model_dir = next((home / "artifacts" / "models" / MODEL).glob("v*"))
        figures = agreement(run, DirectScorer(model_dir))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
