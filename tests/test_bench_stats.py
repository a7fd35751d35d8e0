"""The benchmark's pure statistics (scripts/bench/bench_stats.py)."""

import pytest

from scripts.bench.bench_stats import (
    conversations_for,
    percentile,
    ratio,
    ratios,
    summarize,
    throughput,
)


@pytest.mark.parametrize("pct, expected", [(0, 1.0), (50, 5.5), (90, 9.1), (95, 9.55), (100, 10.0)])
def test_percentiles_interpolate_between_ranks_like_numpy(pct: float, expected: float) -> None:
    values = [10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0]
    assert percentile(values, pct) == pytest.approx(expected)


def test_a_single_value_is_every_percentile() -> None:
    assert [percentile([0.2], p) for p in (50, 95, 99)] == [0.2, 0.2, 0.2]


@pytest.mark.parametrize("values, pct", [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_refuses_nonsense(values: list, pct: float) -> None:
    with pytest.raises(ValueError):
        percentile(values, pct)


def test_throughput_is_messages_per_wall_second() -> None:
    assert throughput(120, 4.0) == 30.0
    with pytest.raises(ValueError):
        throughput(10, 0.0)


def test_a_summary_is_in_milliseconds_with_throughput_from_wall_time() -> None:
    latencies = [0.010 * i for i in range(1, 101)]  # 10 ms .. 1000 ms
    summary = summarize(latencies, wall_seconds=20.0, errors=2)
    assert summary["p50_ms"] == pytest.approx(505.0)
    assert summary["p95_ms"] == pytest.approx(950.5)
    assert summary["p99_ms"] == pytest.approx(990.1)
    assert summary["mean_ms"] == pytest.approx(505.0)
    assert summary["max_ms"] == pytest.approx(1000.0)
    assert summary["throughput_msg_s"] == 5.0
    assert (summary["messages"], summary["errors"]) == (100, 2)


def test_ratios_are_ours_over_starter_and_missing_when_undefined() -> None:
    assert ratio(150.0, 100.0) == 1.5
    assert ratio(None, 100.0) is None and ratio(1.0, 0) is None
    assert ratios({"p95_ms": 30.0, "x": 1}, {"p95_ms": 20.0}, ["p95_ms", "x"]) == {
        "p95_ms": 1.5,
        "x": None,
    }


def test_each_level_runs_several_conversations_per_worker_with_a_floor() -> None:
    assert conversations_for(64, per_worker=3, minimum=20) == 192
    assert conversations_for(1, per_worker=3, minimum=20) == 20


def test_rounds_pool_every_message_and_keep_each_rounds_p95() -> None:
    from scripts.bench.bench import LoadPlan, combine_rounds
    from scripts.bench.bench_client import LevelResult

    plan = LoadPlan(("sequential", 2), per_worker=1, minimum=1, training=False, rounds=2)
    fast = LevelResult(latencies_s=[0.010] * 10, wall_s=1.0)
    slow = LevelResult(latencies_s=[0.030] * 10, wall_s=3.0)
    rounds = [
        {"first_answer_s": 10.0, "levels": {"sequential": fast, "2": fast}},
        {
            "first_answer_s": 14.0,
            "levels": {
                "sequential": slow,
                "2": LevelResult(
                    latencies_s=[], wall_s=1.0, errors=2, error_samples=["HTTP 500 to 'hi'"]
                ),
            },
        },
    ]
    figures = combine_rounds(rounds, plan)
    assert figures["first_answer_s"] == 12.0 and figures["rounds"] == 2
    sequential = figures["levels"]["sequential"]
    assert sequential["messages"] == 20 and sequential["conversations"] == 2
    assert sequential["p50_ms"] == 20.0 and sequential["p95_ms"] == 30.0
    assert sequential["throughput_msg_s"] == 5.0  # 20 messages in 4 s
    assert sequential["p95_ms_by_round"] == [10.0, 30.0]
    both = figures["levels"]["2"]
    assert both["messages"] == 10 and both["errors"] == 2
    assert both["p95_ms_by_round"] == [10.0, None]
    assert both["error_samples"] == ["HTTP 500 to 'hi'"]
