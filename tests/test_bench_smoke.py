"""`make bench`'s client and outputs, run briefly against the real servers (shape only:
speed targets live in the benchmark's output, never in a timed test)."""

import json
from pathlib import Path

import pytest

from scripts.bench import bench
from scripts.bench.bench_client import Turn, reply_problem
from scripts.bench.bench_mix import OURS, STARTER
from scripts.ops.serve import Servers

LEVELS = ["sequential", "1", "2"]
FIGURES = {
    "concurrency",
    "conversations",
    "messages",
    "errors",
    "error_samples",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "mean_ms",
    "max_ms",
    "wall_s",
    "throughput_msg_s",
}


def test_both_mixes_have_the_same_shape() -> None:
    assert len(OURS) == len(STARTER) == 10
    assert sum(bool(t.expect) for t in OURS) >= 2 and sum(bool(t.expect) for t in STARTER) >= 2


@pytest.mark.parametrize(
    "turn, status, body, wrong",
    [
        (Turn("hi"), 200, b'[{"text": "Hello"}]', False),
        (Turn("hi"), 500, b"[]", True),
        (Turn("hi"), 200, b"[]", True),
        (Turn("weather?", silence_ok=True), 200, b"[]", False),
        (
            Turn("no", expect="Postpone"),
            200,
            b'[{"text": "Result of the check: Postpone."}]',
            False,
        ),
        (
            Turn("no", expect="Postpone"),
            200,
            b'[{"text": "Result of the check: Not recommended."}]',
            True,
        ),
    ],
)
def test_a_reply_counts_as_an_error_when_it_is_missing_or_wrong(
    turn: Turn, status: int, body: bytes, wrong: bool
) -> None:
    assert bool(reply_problem(turn, status, body)) is wrong


def test_a_short_benchmark_of_the_running_servers_writes_json_markdown_and_plot(
    servers: Servers, tmp_path: Path
) -> None:
    output = tmp_path / "bench"
    bench.main(
        [
            "--target",
            servers.rest_url,
            "--quick",
            "--levels",
            ",".join(LEVELS),
            "--output",
            str(output),
        ]
    )

    report = json.loads(output.with_suffix(".json").read_text())
    assert report["mode"] == "target" and report["target"] == servers.rest_url
    assert report["messages_per_conversation"] == len(OURS)
    levels = report["bots"]["target"]["levels"]
    assert list(levels) == LEVELS
    for level, summary in levels.items():
        assert set(summary) == FIGURES, level
        # Every reply was right: the FAQ answers, the honest "can't answer", "Postpone".
        assert summary["errors"] == 0, summary["error_samples"]
        assert summary["messages"] == summary["conversations"] * len(OURS)
        assert summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    assert levels["2"]["concurrency"] == 2
    table = output.with_suffix(".md").read_text()
    assert "| 2 concurrent |" in table and bench.NOTES_MARKER in table
    assert (tmp_path / "bench_latency.png").stat().st_size > 10_000


def test_the_phase_timer_says_where_a_messages_time_goes(capsys: pytest.CaptureFixture) -> None:
    from scripts.bench import bench_phases

    bench_phases.main(["--bot", "ours", "--conversations", "1"])
    printed = capsys.readouterr().out
    assert "ours: 10 messages, 0 errors" in printed
    rows = {
        line.split(" | ")[0].strip("| "): line.split(" | ")[1:]
        for line in printed.splitlines()
        if line.startswith("| ") and "---" not in line
    }
    for phase in (
        "whole message",
        "NLU",
        "policies",
        "action-server call",
        "read conversation",
        "store conversation",
    ):
        assert phase in rows, printed
    assert float(rows["whole message"][0]) == 1.0  # timed once per message
    # The screening's form validation and the result are action-server calls.
    assert float(rows["action-server call"][0]) > 0
