"""How well does each quality preset judge realistic records?

Judges the evaluation set ``tests/data/quality_eval/records.jsonl`` (105 records written for
the purpose: tickets with and without final punctuation, chat messages and logs, e-mails, FAQ
answers, product descriptions and junk, in Chinese and English) the way ``mint data ingest``
does: readers, language identification with the keep-list ``zh,en``, then the quality rules
of ``--quality default`` and of ``--quality web``. Prints, for each preset, the share of the
records marked keep that it keeps, of those marked drop that it drops, and of all it judges
right, with each record it gets wrong and the rule that decided; then, as its last line, one
line of JSON with the figures.

Run: ``.venv/bin/python benchmarks/quality_eval.py`` (a few seconds).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from modelmint.data import QualityConfig
from support.quality_eval import judge, load_cases, summary


def main() -> None:
    cases = load_cases()
    figures = {}
    for preset, config in (("default", QualityConfig()), ("web", QualityConfig.web())):
        judged = judge(config, cases)
        s = summary(judged)
        figures[preset] = {
            "kept_of_keep": f"{s['keep_right']}/{s['keep_total']}",
            "dropped_of_drop": f"{s['drop_right']}/{s['drop_total']}",
            "right": f"{s['right']}/{s['records']}",
            "right_share": round(s["right"] / s["records"], 3),
        }
        print(
            f"{preset}: kept {s['keep_right']} of {s['keep_total']} to keep, "
            f"dropped {s['drop_right']} of {s['drop_total']} to drop, "
            f"right on {s['right']} of {s['records']} ({s['right'] / s['records']:.1%})"
        )
        wrong_keeps = Counter(j.reason for j in judged if j.case["expect"] == "keep" and j.reason)
        if wrong_keeps:
            print(f"  records to keep dropped, by rule: {dict(wrong_keeps.most_common())}")
        for j in judged:
            if not j.correct and (j.case["expect"] == "drop" or len(wrong_keeps) <= 3):
                print(f"  {j.case['id']} ({j.case['kind']}): {j.reason or 'kept'}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
