"""Tables comparing texture models: one row per method, its cost, its number of statistics and the validation metrics."""

from __future__ import annotations

import math

__all__ = ["COLUMNS", "markdown_table"]

#: ``(key, header, format)`` of the columns, in order; a row may leave any of them out (printed as ``–``).
COLUMNS = (
    ("method", "method", "{}"),
    ("image", "image", "{}"),
    ("budget", "budget", "{}"),
    ("M", "M (statistics)", "{:d}"),
    ("seconds_per_evaluation", "s / loss+grad", "{:.3f}"),
    ("seconds", "total s", "{:.1f}"),
    ("seconds_per_sample", "s / sample", "{:.1f}"),
    ("cpu_seconds_per_sample", "CPU s / sample", "{:.1f}"),
    ("peak_memory_mb", "peak MB", "{:.0f}"),
    ("iterations", "iterations", "{:d}"),
    ("loss_reduction", "loss ÷", "{:.3g}"),
    ("ps_error", "PS error", "{:.3f}"),
    ("scattering_error", "scattering error (orders 1–2)", "{:.3f}"),
    ("scattering_order0", "order-0 error (σ)", "{:.3f}"),
    ("histogram_w1", "histogram W1 (σ)", "{:.3f}"),
    ("histogram_w1_before_projection", "W1 before projection (σ)", "{:.3f}"),
    ("spectrum_error", "spectrum (log10)", "{:.3f}"),
    ("structure_error", "S(q) error", "{:.3f}"),
    ("copy_check_max", "copy check (max)", "{:.3f}"),
    ("minkowski_error", "Minkowski error", "{:.3f}"),
    ("circularity_median", "circularity (median)", "{:.3f}"),
    ("circularity_w1", "circularity W1", "{:.3f}"),
    ("straightness", "straightness", "{:.3f}"),
    ("branch_length", "branch length (px)", "{:.1f}"),
)


def _cell(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def markdown_table(rows: list[dict]) -> str:
    """A Markdown table of ``rows`` (dicts keyed as :data:`COLUMNS`); columns no row has are left out."""
    columns = [(key, header, fmt) for key, header, fmt in COLUMNS if any(key in row for row in rows)]
    lines = ["| " + " | ".join(header for _, header, _ in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key), fmt) for key, _, fmt in columns) + " |")
    return "\n".join(lines) + "\n"
