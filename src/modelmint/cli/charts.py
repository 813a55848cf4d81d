"""Curves for the terminal (text) and for files (PNG)."""

from __future__ import annotations

from pathlib import Path


def line_chart(
    points: list[tuple[int, float]], title: str, width: int = 64, height: int = 12
) -> str:
    """A text plot: one column per bucket of steps, the mean value drawn as a dot, with the
    value axis on the left and the step range underneath."""
    steps = [s for s, _ in points]
    values = [v for _, v in points]
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    cols = min(width, len(points))
    grid = [[" "] * cols for _ in range(height)]
    for c in range(cols):
        bucket = values[c * len(values) // cols : (c + 1) * len(values) // cols] or [values[-1]]
        mean = sum(bucket) / len(bucket)
        row = round((hi - mean) / span * (height - 1))
        grid[row][c] = "•"
    lines = [title]
    for r, cells in enumerate(grid):
        label = hi - span * r / (height - 1)
        lines.append(f"{label:>9.4g} │{''.join(cells)}")
    lines.append(" " * 10 + "└" + "─" * cols)
    lines.append(" " * 11 + f"step {steps[0]}".ljust(max(1, cols - 10)) + f"{steps[-1]}")
    return "\n".join(lines)


def save_loss_png(series: dict[str, list[tuple[int, float]]], path: Path, metric: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name in (metric, f"eval_{metric}"):
        if series.get(name):
            ax.plot([s for s, _ in series[name]], [v for _, v in series[name]], label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.legend()
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
