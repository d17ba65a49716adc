"""The bench's output: progress lines as they are measured, then the table of figures and targets."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    name: str
    value: str
    target: str
    ok: bool | None  # None: a figure with no target
    note: str = ""


@dataclass
class Figures:
    rows: list[Row] = field(default_factory=list)
    detail: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        """A progress line, printed at once so a long run shows where it is."""
        self.detail.append(line)
        print(line, flush=True)

    def add(self, name: str, value: str, target: str, ok: bool | None, note: str = "") -> None:
        self.rows.append(Row(name, value, target, ok, note))


def print_table(figures: Figures) -> None:
    width = max(len(r.name) for r in figures.rows)
    print()
    print(f"{'figure':<{width}}  {'measured':>12}  {'target':>9}  ok    note")
    for r in figures.rows:
        ok = "-" if r.ok is None else ("yes" if r.ok else "NO")
        print(f"{r.name:<{width}}  {r.value:>12}  {r.target:>9}  {ok:<4}  {r.note}")
