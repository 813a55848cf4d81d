"""Run by test_streaming_memory.py in a fresh process: how much a process's peak RSS grows
from just before a training run (or, as the control, reading a split as one list) to its
end. Prints one JSON object.

The peak is the kernel's high-water mark (VmHWM), reset to the current RSS just before the
run by writing 5 to /proc/self/clear_refs, so what importing left behind does not count."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from modelmint.catalog import Catalog
from modelmint.store import Store
from modelmint.training import parse_recipe, start_training


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def main() -> None:
    home, mode, recipe = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    catalog = Catalog(Store.open(f"sqlite:///{home / 'mint.db'}"), home / "artifacts")
    dataset = catalog.get_dataset(recipe["dataset"])
    Path("/proc/self/clear_refs").write_text("5")
    start = status_kib("VmRSS")
    if mode == "list":
        rows = len(dataset.read_split("train"))
    else:
        outcome = start_training(catalog, parse_recipe(recipe))
        rows = dataset.split_rows("train")
        assert outcome.model is not None
    peak = status_kib("VmHWM")
    print(json.dumps({"rows": rows, "growth_mb": (peak - start) / 1024}))


if __name__ == "__main__":
    main()
