"""`make bench`: our assistant against Rasa's starter bot, measured in the same run.

Writes docs/benchmark.json, docs/benchmark.md and docs/benchmark_latency.png: REST latency
per message (p50/p95/p99) and throughput, sequential and at 1/4/16/64 concurrent
conversations; training time from scratch and with no change; time from process start to
the first answer; resident memory after the load. `--target URL` measures a deployment
that is already running (e.g. the cluster) with our message mix and starts nothing.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from scripts.bench.bench_client import LevelResult, Turn, run_concurrent, run_sequential
from scripts.bench.bench_mix import OURS, STARTER, STARTUP_TURN
from scripts.bench.bench_report import latency_plot, markdown
from scripts.bench.bench_servers import Bot, ours, start, starter, time_training
from scripts.bench.bench_stats import conversations_for, ratio, ratios, summarize
from scripts.ops.processes import free_port
from scripts.ops.settings import DEFAULT_MODEL

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKDIR = PROJECT_ROOT / "var" / "bench"
# Everything below this line in docs/benchmark.md is written by hand and kept by each run.
NOTES_MARKER = "<!-- Notes below this line are written by hand; make bench keeps them. -->"
Level = Union[str, int]
LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms", "throughput_msg_s")
SINGLE_FIGURES = (
    "train_from_scratch_s",
    "retrain_no_change_s",
    "first_answer_s",
    "action_server_start_s",
    "rasa_server_rss_idle_mb",
    "rasa_server_rss_mb",
    "action_server_rss_mb",
)


@dataclass(frozen=True)
class LoadPlan:
    """How much to measure: the load levels, conversations per level in each round, training
    or not, and rounds: each bot is started `rounds` times, in alternating order, and each
    level's latencies are pooled over the rounds, so both bots sample the same stretches of
    a machine whose speed drifts (the starter's p95 at 1 conversation moved by 30% between
    two runs on this machine)."""

    levels: Sequence[Level]
    per_worker: int
    minimum: int
    training: bool
    rounds: int = 1


FULL = LoadPlan(("sequential", 1, 4, 16, 64), per_worker=1, minimum=20, training=True, rounds=3)
QUICK = LoadPlan(("sequential", 1, 4, 16), per_worker=1, minimum=3, training=False)


def concurrency_of(level: Level) -> int:
    return 1 if level == "sequential" else int(level)


def conversations_per_round(level: Level, plan: LoadPlan) -> int:
    return conversations_for(concurrency_of(level), plan.per_worker, plan.minimum)


def run_level(
    url: str, mix: List[Turn], level: Level, plan: LoadPlan, prefix: str, client_ids: bool = False
) -> LevelResult:
    """One load level: fresh conversations of the mix."""
    conversations = [mix] * conversations_per_round(level, plan)
    return (
        run_sequential(url, conversations, prefix, client_ids)
        if level == "sequential"
        else run_concurrent(url, conversations, concurrency_of(level), prefix, client_ids)
    )


def level_summary(level: Level, results: Sequence[LevelResult], plan: LoadPlan) -> Dict:
    """A level's figures over its rounds: percentiles of every message's latency, throughput
    over the summed wall time, and each round's p95 to show the spread."""
    summary: Dict = {
        "concurrency": concurrency_of(level),
        "conversations": conversations_per_round(level, plan) * len(results),
    }
    latencies = [latency for result in results for latency in result.latencies_s]
    errors = sum(result.errors for result in results)
    if latencies:
        summary.update(summarize(latencies, sum(r.wall_s for r in results), errors))
    else:
        summary.update(messages=0, errors=errors)
    if len(results) > 1:
        summary["p95_ms_by_round"] = [
            summarize(r.latencies_s, r.wall_s)["p95_ms"] if r.latencies_s else None for r in results
        ]
    summary["error_samples"] = [why for result in results for why in result.error_samples][:5]
    return summary


def run_levels(
    url: str, mix: List[Turn], plan: LoadPlan, prefix: str, client_ids: bool = False
) -> Dict[str, LevelResult]:
    # A warm-up conversation first: the first parse loads lazily, start-up is timed apart.
    run_sequential(url, [mix], f"{prefix}-warmup", client_ids)
    levels = {}
    for level in plan.levels:
        levels[str(level)] = run_level(url, mix, level, plan, prefix, client_ids)
        print(
            f"  {prefix} {level}: {_one_line(level_summary(level, [levels[str(level)]], plan))}",
            flush=True,
        )
    return levels


def _one_line(summary: Dict) -> str:
    if not summary.get("messages"):
        return f"no answers, {summary['errors']} errors {summary['error_samples']}"
    return (
        f"p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, p99 {summary['p99_ms']} ms, "
        f"{summary['throughput_msg_s']} msg/s, {summary['errors']} errors"
    )


def serve_round(
    bot: Bot, mix: List[Turn], plan: LoadPlan, rasa_port: int, action_port: int
) -> Dict:
    """One round for one bot: start-up, every load level, memory; then the servers stop."""
    print(f"Starting {bot.name} (action server, then Rasa server) ...", flush=True)
    running = start(bot, rasa_port, action_port, WORKDIR / "logs", STARTUP_TURN[bot.name])
    try:
        figures: Dict = {
            "action_server_start_s": running.action_start_s,
            "first_answer_s": running.first_answer_s,
            "rasa_server_rss_idle_mb": running.memory_mb()["rasa_server_rss_mb"],
        }
        figures["levels"] = run_levels(running.rest_url, mix, plan, bot.name, bot.client_ids)
        figures.update(running.memory_mb())
    finally:
        running.stop()
    return figures


def combine_rounds(rounds: Sequence[Dict], plan: LoadPlan) -> Dict:
    """One bot's figures from its rounds: pooled levels, the median of everything else."""
    figures: Dict = {
        key: round(statistics.median(r[key] for r in rounds), 2)
        for key in rounds[0]
        if key != "levels"
    }
    figures["levels"] = {
        str(level): level_summary(level, [r["levels"][str(level)] for r in rounds], plan)
        for level in plan.levels
    }
    figures["rounds"] = len(rounds)
    return figures


def compare(our: Dict, starter_figures: Dict) -> Dict:
    """ours/starter for every figure both have."""
    compared: Dict = {key: ratio(our.get(key), starter_figures.get(key)) for key in SINGLE_FIGURES}
    compared["levels"] = {
        level: ratios(summary, starter_figures["levels"].get(level, {}), LATENCY_KEYS)
        for level, summary in our["levels"].items()
    }
    return compared


def machine() -> Dict:
    return {
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "rasa": version("rasa"),
        "rasa_sdk": version("rasa-sdk"),
        "platform": platform.platform(),
    }


def write_outputs(report: Dict, prefix: Path) -> None:
    """JSON, markdown (keeping the hand-written notes) and the latency plot."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    json_path = prefix.with_suffix(".json")
    md_path = prefix.with_suffix(".md")
    plot_path = prefix.parent / f"{prefix.name}_latency.png"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    notes = ""
    if md_path.exists() and NOTES_MARKER in md_path.read_text():
        notes = md_path.read_text().split(NOTES_MARKER, 1)[1]
    md_path.write_text(markdown(report, plot_path.name) + "\n" + NOTES_MARKER + notes)
    latency_plot(report, plot_path)
    print(f"Wrote {json_path}, {md_path} and {plot_path}.")


def run_local(plan: LoadPlan, rasa_port: int, action_port: int, model: Path) -> Dict:
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    report = {"mode": "full" if plan.training else "quick", "machine": machine()}
    print("Creating the starter bot (rasa init --no-prompt, which trains it once) ...", flush=True)
    bots = [(ours(WORKDIR, action_port, model), OURS), (starter(WORKDIR, action_port), STARTER)]
    training: Dict[str, Dict] = {bot.name: {} for bot, _ in bots}
    if plan.training:
        for bot, _ in bots:
            print(f"Training {bot.name} from scratch, then again with no change ...", flush=True)
            training[bot.name] = time_training(bot, WORKDIR)
    rounds: Dict[str, List[Dict]] = {bot.name: [] for bot, _ in bots}
    for number in range(plan.rounds):
        print(f"Round {number + 1} of {plan.rounds}", flush=True)
        for bot, mix in bots if number % 2 == 0 else bots[::-1]:
            rounds[bot.name].append(serve_round(bot, mix, plan, rasa_port, action_port))
    report["bots"] = {
        name: {**training[name], **combine_rounds(bot_rounds, plan)}
        for name, bot_rounds in rounds.items()
    }
    report["ratios_ours_over_starter"] = compare(report["bots"]["ours"], report["bots"]["starter"])
    return report


def run_target(url: str, plan: LoadPlan) -> Dict:
    """Our mix against a deployment that is already running; nothing is started."""
    report = {"mode": "target", "target": url, "machine": machine()}
    report["bots"] = {
        "target": combine_rounds([{"levels": run_levels(url, OURS, plan, "target")}], plan)
    }
    return report


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="few conversations, levels up to 16, no training (tests, CI)",
    )
    parser.add_argument("--target", help="REST webhook URL of a running deployment to measure")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="path prefix of the outputs (default docs/benchmark, "
        "docs/benchmark_target with --target)",
    )
    parser.add_argument(
        "--levels", help="comma-separated load levels instead of the mode's, e.g. sequential,1,4"
    )
    parser.add_argument("--rasa-port", type=int, default=None)
    parser.add_argument("--action-port", type=int, default=None)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.levels:
        plan = replace(
            plan, levels=[lv if lv == "sequential" else int(lv) for lv in args.levels.split(",")]
        )
    started = time.monotonic()
    if args.target:
        report = run_target(args.target, plan)
        default_output = PROJECT_ROOT / "docs" / "benchmark_target"
    else:
        report = run_local(
            plan, args.rasa_port or free_port(), args.action_port or free_port(), args.model
        )
        default_output = PROJECT_ROOT / "docs" / "benchmark"
    report["generated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report["machine"]["load_average_at_end"] = os.getloadavg()
    report["duration_s"] = round(time.monotonic() - started, 1)
    report["messages_per_conversation"] = len(OURS)
    write_outputs(report, args.output or default_output)


if __name__ == "__main__":
    main()
