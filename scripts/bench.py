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
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from scripts.bench_client import LevelResult, Turn, run_concurrent, run_sequential
from scripts.bench_mix import OURS, STARTER, STARTUP_TURN
from scripts.bench_report import latency_plot, markdown
from scripts.bench_servers import Bot, ours, start, starter, time_training
from scripts.bench_stats import conversations_for, ratio, ratios, summarize
from scripts.serve import DEFAULT_MODEL, free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKDIR = PROJECT_ROOT / "var" / "bench"
# Everything below this line in docs/benchmark.md is written by hand and kept by each run.
NOTES_MARKER = "<!-- Notes below this line are written by hand; make bench keeps them. -->"
Level = Union[str, int]
LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms", "throughput_msg_s")
SINGLE_FIGURES = ("train_from_scratch_s", "retrain_no_change_s", "first_answer_s",
                  "action_server_start_s", "rasa_server_rss_idle_mb", "rasa_server_rss_mb",
                  "action_server_rss_mb")


@dataclass(frozen=True)
class Plan:
    """How much to measure: the load levels, conversations per level, and training or not."""

    levels: Sequence[Level]
    per_worker: int
    minimum: int
    training: bool


FULL = Plan(("sequential", 1, 4, 16, 64), per_worker=3, minimum=20, training=True)
QUICK = Plan(("sequential", 1, 4, 16), per_worker=1, minimum=3, training=False)


def run_level(url: str, mix: List[Turn], level: Level, plan: Plan, prefix: str) -> Dict:
    """One load level: fresh conversations of the mix, summarized."""
    concurrency = 1 if level == "sequential" else int(level)
    count = conversations_for(concurrency, plan.per_worker, plan.minimum)
    conversations = [mix] * count
    result: LevelResult = (run_sequential(url, conversations, prefix) if level == "sequential"
                           else run_concurrent(url, conversations, concurrency, prefix))
    summary = {"concurrency": concurrency, "conversations": count}
    if result.latencies_s:
        summary.update(summarize(result.latencies_s, result.wall_s, result.errors))
    else:
        summary.update(messages=0, errors=result.errors)
    summary["error_samples"] = result.error_samples
    return summary


def run_levels(url: str, mix: List[Turn], plan: Plan, prefix: str) -> Dict[str, Dict]:
    # A warm-up conversation first: the first parse loads lazily, start-up is timed apart.
    run_sequential(url, [mix], f"{prefix}-warmup")
    levels = {}
    for level in plan.levels:
        levels[str(level)] = run_level(url, mix, level, plan, prefix)
        print(f"  {prefix} {level}: {_one_line(levels[str(level)])}", flush=True)
    return levels


def _one_line(summary: Dict) -> str:
    if not summary.get("messages"):
        return f"no answers, {summary['errors']} errors {summary['error_samples']}"
    return (f"p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, p99 {summary['p99_ms']} ms, "
            f"{summary['throughput_msg_s']} msg/s, {summary['errors']} errors")


def measure(bot: Bot, mix: List[Turn], plan: Plan, rasa_port: int, action_port: int) -> Dict:
    """Training (full mode), start-up, every load level and memory for one bot."""
    figures: Dict = {}
    if plan.training:
        print(f"Training {bot.name} from scratch, then again with no change ...", flush=True)
        figures.update(time_training(bot, WORKDIR))
    print(f"Starting {bot.name} (action server, then Rasa server) ...", flush=True)
    running = start(bot, rasa_port, action_port, WORKDIR / "logs", STARTUP_TURN[bot.name])
    try:
        figures.update(action_server_start_s=running.action_start_s,
                       first_answer_s=running.first_answer_s)
        figures["rasa_server_rss_idle_mb"] = running.memory_mb()["rasa_server_rss_mb"]
        figures["levels"] = run_levels(running.rest_url, mix, plan, bot.name)
        figures.update(running.memory_mb())
    finally:
        running.stop()
    return figures


def compare(our: Dict, starter_figures: Dict) -> Dict:
    """ours/starter for every figure both have."""
    compared: Dict = {key: ratio(our.get(key), starter_figures.get(key)) for key in SINGLE_FIGURES}
    compared["levels"] = {level: ratios(summary, starter_figures["levels"].get(level, {}),
                                        LATENCY_KEYS)
                          for level, summary in our["levels"].items()}
    return compared


def machine() -> Dict:
    return {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg(),
            "python": platform.python_version(), "rasa": version("rasa"),
            "rasa_sdk": version("rasa-sdk"), "platform": platform.platform()}


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


def run_local(plan: Plan, rasa_port: int, action_port: int, model: Path) -> Dict:
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    report = {"mode": "full" if plan.training else "quick", "machine": machine()}
    print("Creating the starter bot (rasa init --no-prompt, which trains it once) ...", flush=True)
    bots = [(ours(WORKDIR, action_port, model), OURS), (starter(WORKDIR, action_port), STARTER)]
    report["bots"] = {bot.name: measure(bot, mix, plan, rasa_port, action_port)
                      for bot, mix in bots}
    report["ratios_ours_over_starter"] = compare(report["bots"]["ours"], report["bots"]["starter"])
    return report


def run_target(url: str, plan: Plan) -> Dict:
    """Our mix against a deployment that is already running; nothing is started."""
    report = {"mode": "target", "target": url, "machine": machine()}
    report["bots"] = {"target": {"levels": run_levels(url, OURS, plan, "target")}}
    return report


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="few conversations, levels up to 16, no training (tests, CI)")
    parser.add_argument("--target", help="REST webhook URL of a running deployment to measure")
    parser.add_argument("--output", type=Path, default=None,
                        help="path prefix of the outputs (default docs/benchmark, "
                             "docs/benchmark_target with --target)")
    parser.add_argument("--levels", help="comma-separated load levels instead of the mode's, "
                        "e.g. sequential,1,4")
    parser.add_argument("--rasa-port", type=int, default=None)
    parser.add_argument("--action-port", type=int, default=None)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.levels:
        plan = replace(plan, levels=[lv if lv == "sequential" else int(lv)
                                     for lv in args.levels.split(",")])
    started = time.monotonic()
    if args.target:
        report = run_target(args.target, plan)
        default_output = PROJECT_ROOT / "docs" / "benchmark_target"
    else:
        report = run_local(plan, args.rasa_port or free_port(), args.action_port or free_port(),
                           args.model)
        default_output = PROJECT_ROOT / "docs" / "benchmark"
    report["generated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report["machine"]["load_average_at_end"] = os.getloadavg()
    report["duration_s"] = round(time.monotonic() - started, 1)
    report["messages_per_conversation"] = len(OURS)
    write_outputs(report, args.output or default_output)


if __name__ == "__main__":
    main()
