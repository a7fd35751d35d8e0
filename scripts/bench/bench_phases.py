"""Where a message's time goes in the Rasa server: `python -m scripts.bench.bench_phases`.

Starts a bot as `make bench` does, with scripts/bench/phase_timer on the Rasa server's PYTHONPATH
(wall time of each phase of each message), sends a warm-up conversation and then
`--conversations` of the benchmark's mix one after another, and prints, per phase, the
calls per message and the milliseconds per call and per message. The starter bot is the
one the last `make bench` created in var/bench (run that first).
"""

import argparse
import json
import os
import signal
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional

from scripts.bench.bench import WORKDIR
from scripts.bench.bench_client import run_sequential
from scripts.bench.bench_mix import OURS, STARTER, STARTUP_TURN
from scripts.bench.bench_servers import Bot, ours, quiet_env, start
from scripts.ops.processes import free_port
from scripts.ops.settings import DEFAULT_MODEL

TIMER_DIR = Path(__file__).resolve().parent / "phase_timer"


def existing_starter(action_port: int) -> Bot:
    project = WORKDIR / "starter"
    models = sorted((project / "models").glob("*.tar.gz"))
    if not models:
        raise SystemExit(f"No starter bot in {project}: run `make bench` first.")
    (project / "bench_endpoints.yml").write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{action_port}/webhook\n"
    )
    return Bot(
        "starter",
        project,
        models[-1],
        [],
        quiet_env(),
        ["--endpoints", "bench_endpoints.yml", "--credentials", "credentials.yml"],
        client_ids=True,
    )


def phase_table(times: Dict[str, List[float]]) -> List[str]:
    messages = len(times.get("whole message", [])) or 1
    lines = [
        "| phase | calls per message | ms per call (mean) | ms per message |",
        "|---|---|---|---|",
    ]
    for phase, values in sorted(times.items(), key=lambda item: -sum(item[1])):
        lines.append(
            f"| {phase} | {len(values) / messages:.2f} | {statistics.mean(values):.2f} "
            f"| {sum(values) / messages:.2f} |"
        )
    return lines


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bot", choices=("ours", "starter"), default="ours")
    parser.add_argument("--conversations", type=int, default=30)
    args = parser.parse_args(argv)
    workdir = WORKDIR / "phases"
    workdir.mkdir(parents=True, exist_ok=True)
    rasa_port, action_port = free_port(), free_port()
    bot = (
        ours(workdir, action_port, DEFAULT_MODEL)
        if args.bot == "ours"
        else existing_starter(action_port)
    )
    out = workdir / f"{args.bot}.json"
    bot.env.update(PHASE_TIMER_OUT=str(out))
    running = start(
        bot,
        rasa_port,
        action_port,
        workdir / "logs",
        STARTUP_TURN[bot.name],
        pythonpath_prefix=str(TIMER_DIR),
    )
    mix = OURS if args.bot == "ours" else STARTER
    try:
        run_sequential(running.rest_url, [mix], "phases-warmup", bot.client_ids)
        os.kill(running.rasa_server.pid, signal.SIGUSR1)
        result = run_sequential(
            running.rest_url, [mix] * args.conversations, "phases", bot.client_ids
        )
        os.kill(running.rasa_server.pid, signal.SIGUSR2)
        time.sleep(1)
        times = json.loads(out.read_text())
    finally:
        running.stop()
    print(
        f"{args.bot}: {len(result.latencies_s)} messages, {result.errors} errors, "
        f"client-side mean {1000 * statistics.mean(result.latencies_s):.1f} ms"
    )
    print("\n".join(phase_table(times)))


if __name__ == "__main__":
    main()
