"""Starting, waiting for and stopping the processes the scripts run: `make run`'s servers
(scripts/ops/serve.py), the cluster's PostgreSQL, Redis and nginx (scripts/ops/cluster.py)
and the benchmark's bots (scripts/bench/bench_servers.py), all the same way.

Each process gets a session of its own (a Ctrl-C in the terminal reaches only the launcher,
which stops them in order), its output appended to a log file (owner-only unless the caller
says otherwise) and, for private logs, the umask PRIVATE_UMASK, so what it creates is
private from the start.
"""

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence, Tuple

from scripts.ops.private_files import PRIVATE_UMASK, open_private

# How long a process is given after SIGTERM before it is killed: `make run`'s servers and the
# benchmark's (stop_processes), the cluster's (stop_process, one at a time).
STOP_TIMEOUT_S = 15
CLUSTER_STOP_TIMEOUT_S = 20


def free_port() -> int:
    """A TCP port nothing listens on right now (for tests that start their own servers)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_process(
    command: Sequence[str],
    log: Path,
    *,
    cwd: Path,
    env: Optional[Mapping[str, str]] = None,
    private: bool = True,
    **popen: Any,
) -> subprocess.Popen:
    """Start `command` in a session of its own, stdout and stderr appended to `log`: a file
    only its owner reads, created under the umask PRIVATE_UMASK, unless `private` is False
    (the benchmark's logs, which hold no conversation of a patient). `popen` goes to Popen
    as it is (e.g. `user` and `group`)."""
    if private:
        stdout = open_private(log)
        popen = {"umask": PRIVATE_UMASK, **popen}
    else:
        stdout = log.open("ab")
    return subprocess.Popen(
        list(command),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdout=stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **popen,
    )


def log_tail(log: Path, lines: int = 30) -> str:
    """The last lines of a log, for an error message."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def wait_until_up(
    url: str, process: subprocess.Popen, log: Path, timeout: float, up: Tuple[int, ...] = (200,)
) -> None:
    """Until `url` answers with a status of `up`; raises RuntimeError, with the log's tail,
    when the process exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{url} exited with code {process.returncode}; see {log}:\n{log_tail(log)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status in up:
                    return
        except urllib.error.HTTPError as error:
            if error.code in up:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s; see {log}:\n{log_tail(log)}")


def wait_until(
    ready: Callable[[], bool], process: subprocess.Popen, what: str, log: Path, timeout_s: float
) -> float:
    """Seconds from now until ready() holds; fails if the process exits or time runs out
    (the benchmark times its servers' start-up with it)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}; see {log}")
        if ready():
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"{what} was not ready within {timeout_s:.0f}s; see {log}")


def signal_processes(
    processes: Iterable[subprocess.Popen], sig: signal.Signals = signal.SIGTERM
) -> None:
    """Send `sig` to each process still running."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(sig)


def _wait_or_kill(process: subprocess.Popen, timeout: float) -> None:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_processes(processes: List[subprocess.Popen], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM each, wait up to 15 s, then kill (also used by the benchmark)."""
    signal_processes(processes)
    for process in processes:
        _wait_or_kill(process, timeout)


def stop_process(
    process: subprocess.Popen,
    sig: signal.Signals = signal.SIGTERM,
    timeout: float = CLUSTER_STOP_TIMEOUT_S,
) -> None:
    """Send `sig` if it still runs, wait up to `timeout` seconds, then kill."""
    signal_processes([process], sig)
    _wait_or_kill(process, timeout)
