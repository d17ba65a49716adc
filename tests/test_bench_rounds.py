"""scripts/benchmark --against: medians over both rounds, and each round's own ratio (the run's noise)."""

from __future__ import annotations

import sys

import pytest

from scripts.benchmark.__main__ import main as benchmark_main
from scripts.benchmark.compare import Comparison, Samples


def test_each_round_gets_its_own_ratio_and_the_figure_pools_both() -> None:
    samples = Samples()
    for round_, (ours, base) in enumerate([([3.0, 3.2, 3.1], [3.0, 3.0, 3.0]), ([2.0, 2.2, 2.1], [2.2, 2.2, 2.2])]):
        samples.round = round_
        for mine, theirs in zip(ours, base, strict=True):
            samples.add("first delta", "new", mine, "ms")
            samples.add("first delta", "old", theirs, "ms")
    samples.round = 0
    samples.add("peak RSS", "new", 110.0, "MiB")  # a figure read in one round only, and one side's reading
    samples.add("peak RSS", "old", 0.0, "MiB")  # ...whose median is no base for a ratio
    result = Comparison("new", "old")
    samples.report(result, "new", "old")
    delta, rss = result.rows
    assert (delta.ours, delta.base) == (2.6, 2.6)  # pooled: the median of all six a side
    assert [round(r, 3) for r in delta.by_round] == [round(3.1 / 3.0, 3), round(2.1 / 2.2, 3)]
    assert rss.by_round == ()


def test_more_rounds_each_get_a_ratio_and_pool_into_the_figure() -> None:
    samples = Samples(4)
    for round_, (ours, base) in enumerate([(3.0, 3.0), (2.0, 2.5), (4.0, 3.0), (1.0, 1.0)]):
        samples.round = round_
        samples.add("first delta", "new", ours, "ms")
        samples.add("first delta", "old", base, "ms")
    result = Comparison("new", "old")
    samples.report(result, "new", "old")
    (delta,) = result.rows
    assert [round(r, 2) for r in delta.by_round] == [1.0, 0.8, 1.33, 1.0]
    assert (delta.ours, delta.base) == (2.5, 2.75)  # medians of the four readings a side


@pytest.mark.parametrize("args", [["--rounds", "3", "--against", "HEAD"], ["--rounds", "0", "--against", "HEAD"], ["--rounds", "4"]])
def test_rounds_are_even_and_only_for_against(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["scripts/bench", *args])
    with pytest.raises(SystemExit) as exit_:
        benchmark_main()
    assert exit_.value.code == 2
    assert "--rounds goes with --against" in capsys.readouterr().err


def test_an_even_number_of_rounds_reaches_the_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def compare(settings: object, workdir: object, ref: str, ours: str, rounds: int) -> Comparison:
        asked.append(rounds)
        return Comparison(ours, ref)

    monkeypatch.setattr("scripts.benchmark.__main__.compare", compare)
    monkeypatch.setattr("scripts.benchmark.__main__.print_comparison", lambda result: None)
    for args, rounds in ((["--against", "HEAD"], 2), (["--against", "HEAD", "--rounds", "4"], 4)):
        monkeypatch.setattr(sys, "argv", ["scripts/bench", *args])
        assert benchmark_main() == 0
        assert asked.pop() == rounds
