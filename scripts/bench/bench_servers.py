"""Process handling for the benchmark: the starter project, training runs, timed server
start-up and resident memory. The statistics are in scripts/bench/bench_stats.py."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from scripts.bench.bench_client import Turn, answers
from scripts.ops.build_credentials import build_credentials
from scripts.ops.processes import start_process, stop_processes as stop, wait_until as _wait
from scripts.ops.serve import cors_flags, http_api_flags, runtime_env
from scripts.ops.settings import PROJECT_ROOT, QUIET_ENV, SERVING_TF_THREADS

VENV_BIN = Path(sys.executable).parent
RASA = str(VENV_BIN / "rasa")
OUR_TRAIN_ARGS = ["--domain", "build/domain", "--data", "data", "--config", "config.yml"]


@dataclass
class Bot:
    """What the benchmark needs to train and serve one assistant."""

    name: str
    project: Path
    model: Path
    train_args: List[str]
    env: Dict[str, str]
    rasa_args: List[str] = field(default_factory=list)
    # Rasa's own REST channel takes the client's conversation ids; ours issues them.
    client_ids: bool = False


def quiet_env(**extra: str) -> Dict[str, str]:
    return {**os.environ, **QUIET_ENV, **extra}


def ours(workdir: Path, action_port: int, model: Path) -> Bot:
    """Our assistant as `make run` serves it: SQLite tracker store (fresh, in workdir) and
    the action server; the same channels, CORS and API flags as scripts/ops/serve.py."""
    env = runtime_env(action_port, workdir / "conversations.db", web_port=8080)
    env.update(
        TRACKER_STORE_URL=f"sqlite:///{workdir / 'conversations.db'}",
        ACTION_ENDPOINT_URL=f"http://127.0.0.1:{action_port}/webhook",
        LOCK_STORE_TYPE="in_memory",
    )
    credentials = workdir / "credentials.yml"
    build_credentials(env, credentials)
    return Bot(
        "ours",
        PROJECT_ROOT,
        model,
        OUR_TRAIN_ARGS,
        env,
        [
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            str(credentials),
            *cors_flags(env),
            *http_api_flags(env),
        ],
    )


def starter(workdir: Path, action_port: int) -> Bot:
    """Rasa's starter bot from `rasa init --no-prompt` (which also trains it once), with the
    default in-memory tracker store and its own action server."""
    project = workdir / "starter"
    project.mkdir(parents=True, exist_ok=True)
    with (workdir / "starter-init.log").open("w") as log:
        # A throwaway cache, so the init's training leaves nothing for the timed one to reuse.
        subprocess.run(
            [RASA, "init", "--no-prompt", "--init-dir", str(project)],
            cwd=workdir,
            env=quiet_env(RASA_CACHE_DIRECTORY=str(workdir / "starter-init-cache")),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    (project / "bench_endpoints.yml").write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{action_port}/webhook\n"
    )
    [model] = sorted((project / "models").glob("*.tar.gz"))
    return Bot(
        "starter",
        project,
        model,
        [],
        quiet_env(),
        ["--endpoints", "bench_endpoints.yml", "--credentials", "credentials.yml"],
        client_ids=True,
    )


def time_training(bot: Bot, workdir: Path) -> Dict[str, float]:
    """Seconds for `rasa train --force` with an empty cache, then for a retrain with no change."""
    out, cache = workdir / f"{bot.name}-models", workdir / f"{bot.name}-cache"
    # Trained as `make train` trains: without the serving-only thread limit.
    env = {
        key: value
        for key, value in bot.env.items()
        if key not in SERVING_TF_THREADS or key in os.environ
    }
    env = {**env, **QUIET_ENV, "RASA_CACHE_DIRECTORY": str(cache), "PYTHONPATH": str(bot.project)}
    command = [RASA, "train", *bot.train_args, "--out", str(out), "--fixed-model-name", "bench"]
    seconds = {}
    with (workdir / f"{bot.name}-train.log").open("w") as log:
        for key, extra in (("train_from_scratch_s", ["--force"]), ("retrain_no_change_s", [])):
            started = time.monotonic()
            subprocess.run(
                command + extra,
                cwd=bot.project,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
            )
            seconds[key] = round(time.monotonic() - started, 1)
    return seconds


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@dataclass
class Running:
    """A bot's action server and Rasa server, started and timed."""

    action_server: subprocess.Popen
    rasa_server: subprocess.Popen
    rest_url: str
    action_start_s: float
    first_answer_s: float

    def memory_mb(self) -> Dict[str, float]:
        return {
            "rasa_server_rss_mb": rss_mb(self.rasa_server.pid),
            "action_server_rss_mb": rss_mb(self.action_server.pid),
        }

    def stop(self) -> None:
        stop([self.rasa_server, self.action_server])


def start(
    bot: Bot,
    rasa_port: int,
    action_port: int,
    log_dir: Path,
    startup_turn: Turn,
    pythonpath_prefix: str = "",
) -> Running:
    """Start the action server, then the Rasa server; time the Rasa server from process start
    to its first correct REST reply (model loading included). `pythonpath_prefix` goes
    before the project on the Rasa server's PYTHONPATH (scripts/bench/bench_phases.py)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    actions_log = log_dir / f"{bot.name}-actions.log"
    action_server = start_process(
        [
            str(VENV_BIN / "python"),
            "-m",
            "rasa_sdk",
            "--actions",
            "actions",
            "--port",
            str(action_port),
        ],
        actions_log,
        cwd=bot.project,
        env={**bot.env, "PYTHONPATH": str(bot.project)},
        private=False,
    )
    processes = [action_server]
    try:
        action_start = _wait(
            lambda: _http_ok(f"http://localhost:{action_port}/health"),
            action_server,
            "the action server",
            actions_log,
            120,
        )
        rasa_log = log_dir / f"{bot.name}-rasa.log"
        rest_url = f"http://localhost:{rasa_port}/webhooks/rest/webhook"
        rasa_server = start_process(
            [RASA, "run", "--model", str(bot.model), "--port", str(rasa_port), *bot.rasa_args],
            rasa_log,
            cwd=bot.project,
            env={
                **bot.env,
                "PYTHONPATH": os.pathsep.join(filter(None, (pythonpath_prefix, str(bot.project)))),
            },
            private=False,
        )
        processes.append(rasa_server)
        first_answer = _wait(
            lambda: answers(rest_url, startup_turn, bot.client_ids),
            rasa_server,
            "the Rasa server",
            rasa_log,
            300,
        )
    except BaseException:
        stop(processes)
        raise
    return Running(
        action_server, rasa_server, rest_url, round(action_start, 2), round(first_answer, 2)
    )


def _children(pid: int) -> Iterator[int]:
    """Every descendant of pid (servers may fork workers), from /proc."""
    parents: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    stack = list(parents.get(pid, []))
    while stack:
        child = stack.pop()
        yield child
        stack.extend(parents.get(child, []))


def _vm_rss_kb(pid: int) -> Optional[int]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of pid and its descendants, in MB."""
    kb = sum(_vm_rss_kb(p) or 0 for p in [pid, *_children(pid)])
    return round(kb / 1024, 1)
