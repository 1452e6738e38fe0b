"""How every benchmark prints a figure: its name, its value, its ratio to the run's own baseline,
and the goal with ``met`` or ``missed`` (a figure without a goal says so)."""

from __future__ import annotations


def row(name: str, figure: str, ratio: float | None = None, goal: float | None = None, below: bool = True) -> bool:
    """Print one figure; True unless it has a goal it missed. ``below``: the ratio should stay
    at most ``goal`` (else at least)."""
    met = True
    verdict = "  (no goal)" if ratio is not None and goal is None else ""
    if ratio is not None and goal is not None:
        met = ratio <= goal if below else ratio >= goal
        verdict = f"  goal {'<=' if below else '>='} x{goal:.2f}  {'met' if met else 'missed'}"
    shown = f"x{ratio:.2f}" if ratio is not None else ""
    print(f"  {name:<40} {figure:>28}  {shown:>7}{verdict}", flush=True)
    return met
