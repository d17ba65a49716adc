"""scripts/benchmark --against: medians over both rounds, each round's own ratio (the run's noise),
and in how many rounds ours read lower; and one real comparison of the first delta alone."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from scripts.benchmark.__main__ import main as benchmark_main
from scripts.benchmark.compare import Comparison, Row, Samples, compare, crowd_order
from scripts.benchmark.hook_costs import compare_hooks
from scripts.benchmark.proxies import LEGS_AFTER, LEGS_BEFORE, ShimMitmdump
from scripts.benchmark.settings import Settings
from scripts.benchmark.worktree import git
from tests.harness import ROOT


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
    assert delta.lower_in == "1/4"  # a tie is not lower


def test_lower_in_counts_the_rounds_ours_read_lower() -> None:
    assert Row("x", 1.0, 1.0, None, "ms", (0.9, 1.1, 0.99, 1.2)).lower_in == "2/4"
    assert Row("x", 1.0, 1.0, None, "ms", ()).lower_in == "-"


@pytest.mark.parametrize("args", [["--rounds", "3", "--against", "HEAD"], ["--rounds", "0", "--against", "HEAD"], ["--rounds", "4"]])
def test_rounds_are_even_and_only_for_against(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["scripts/bench", *args])
    with pytest.raises(SystemExit) as exit_:
        benchmark_main()
    assert exit_.value.code == 2
    assert "--rounds goes with --against" in capsys.readouterr().err


def test_an_even_number_of_rounds_reaches_the_comparison(monkeypatch: pytest.MonkeyPatch) -> None:

    asked: list[tuple[int, bool]] = []

    def compare(settings: object, workdir: object, ref: str, ours: str, rounds: int, first_delta_only: bool, legs: bool) -> Comparison:
        asked.append((rounds, first_delta_only or legs))
        return Comparison(ours, ref)

    monkeypatch.setattr("scripts.benchmark.__main__.compare", compare)
    monkeypatch.setattr("scripts.benchmark.__main__.print_comparison", lambda result: None)
    for args, rounds, only in ((["--against", "HEAD"], 2, False), (["--against", "HEAD", "--rounds", "4"], 4, False),
                               (["--against", "HEAD", "--rounds", "16", "--first-delta-only"], 16, True),
                               (["--against", "HEAD", "--legs"], 2, True)):
        monkeypatch.setattr(sys, "argv", ["scripts/bench", *args])
        assert benchmark_main() == 0
        assert asked.pop() == (rounds, only)


@pytest.mark.parametrize("flag", ["--first-delta-only", "--legs", "--hooks"])
def test_first_delta_only_legs_and_hooks_go_with_against(flag: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["scripts/bench", flag])
    with pytest.raises(SystemExit) as exit_:
        benchmark_main()
    assert exit_.value.code == 2
    assert "--first-delta-only, --legs and --hooks go with --against" in capsys.readouterr().err


def test_the_leg_probes_load_around_the_addon(tmp_path: Path) -> None:
    """mitmproxy runs a hook through the scripts in `-s` order: the first probe must come before
    the addon (the answer's headers read before its `responseheaders`), the second after it (the
    request ready once its `request` ran); the REF's addon takes the checkout's place."""
    upstream = SimpleNamespace(host="127.0.0.1:9", base_url="http://127.0.0.1:9/v1")
    for root in (ROOT, tmp_path):
        args = ShimMitmdump(tmp_path / "m", upstream, [], root, legs=True).args
        scripts = [args[i + 1] for i, arg in enumerate(args) if arg == "-s"]
        assert scripts[:3] == [str(LEGS_BEFORE), str(root / "addons" / "codex_shim.py"), str(LEGS_AFTER)]
    assert str(LEGS_BEFORE) not in ShimMitmdump(tmp_path / "m", upstream, []).args


TINY = Settings(deltas=50, rate=0, reps=1, ttfd_reps=4, streams=3, stream_deltas=20, stream_rate=400, long_factor=1, time_limit=60)


@pytest.mark.e2e
def test_a_first_delta_only_comparison_runs_both_addons_and_skips_the_long_streams(tmp_path: Path) -> None:
    """A real --against HEAD run, tiny: the worktree's addon and this checkout's in their own
    mitmdumps behind the fake upstream, two rounds; every first-delta figure has both columns and
    a ratio per round, and no CPU figure was taken. Named as `scripts/bench --against HEAD` names
    them on a clean checkout (both the same commit), the two columns stay apart."""
    head = git("rev-parse", "--short", "HEAD^{commit}")
    result = compare(TINY, tmp_path, "HEAD", head, rounds=2, first_delta_only=True, legs=True)
    assert (result.ours, result.base) == ("this checkout", head)
    names = [row.name for row in result.rows]
    assert names[0] == "peak RSS, 3 concurrent streams (all whole)"
    first_delta = [row for row in result.rows if row.name.startswith("first-delta overhead")]
    assert len(first_delta) == 8  # four shapes, trimmed and Codex-sized
    for row in first_delta:
        assert row.ours > 0 and row.base > 0 and len(row.by_round) == 2, row
    legs = [row for row in result.rows if row.name.startswith("  leg: ")]
    assert len(legs) == 8 * 4
    for row in legs:  # every leg read on both sides: the probes ran in both mitmdumps
        assert row.ours > 0 and row.base > 0 and len(row.by_round) == 2, row
    [collections] = [row for row in result.rows if row.name == "garbage collections on the way to the first delta, per 100 turns"]
    assert collections.ours >= 0 and collections.base >= 0, collections  # not NaN: both probes counted the turns (see hook_timer.py)
    assert not [name for name in names if "CPU" in name or "pauses" in name or "longest" in name]


@pytest.mark.e2e
def test_a_hooks_comparison_times_both_addons_hooks_on_every_case() -> None:
    """A real --against HEAD --hooks run, tiny: each side's entry script in a process of its own,
    each round; every case (four shapes, trimmed and Codex-sized, warm and cold) has its total and
    both legs on both sides, and each leg was really timed (a turn's hooks take microseconds)."""
    head = git("rev-parse", "--short", "HEAD^{commit}")
    result = compare_hooks("HEAD", head, rounds=2, turns=3)
    assert (result.ours, result.base) == ("this checkout", head)
    totals = [row for row in result.rows if row.name.startswith("hooks to the first delta, ")]
    assert len(totals) == 4 * 2 * 2
    assert len(result.rows) == 3 * len(totals)
    for row in result.rows:
        assert 1 < row.ours < 100_000 and 1 < row.base < 100_000 and len(row.by_round) == 2, row


def test_whose_crowd_runs_first_alternates_and_meets_both_start_orders() -> None:
    """Nothing measured should depend on whose crowd runs first (compare.crowd_order): each side's
    crowd goes first in half the rounds, also in the default two, and over four rounds with each
    start order (ours started first in the even rounds) once."""
    ours, base = SimpleNamespace(name="ours"), SimpleNamespace(name="base")
    firsts = [crowd_order((ours, base), round_)[0].name for round_ in range(4)]  # type: ignore[arg-type]
    assert firsts[:2] == ["ours", "base"]
    assert sorted(zip([r % 2 == 0 for r in range(4)], firsts, strict=True)) == [(False, "base"), (False, "ours"), (True, "base"), (True, "ours")]
