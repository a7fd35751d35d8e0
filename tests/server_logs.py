"""What the test servers wrote to their logs: all of it, or only what came after a mark."""

from pathlib import Path
from typing import Dict

from scripts.ops.serve import Servers


def read_logs(servers: Servers) -> str:
    """Every log of the servers, one after another."""
    return "\n".join(
        log.read_text(encoding="utf-8", errors="replace")
        for log in sorted(Path(servers.log_dir).glob("*.log"))
    )


def log_sizes(servers: Servers) -> Dict[Path, int]:
    """A mark: how long each log is now."""
    return {log: log.stat().st_size for log in Path(servers.log_dir).glob("*.log")}


def logged_since(servers: Servers, mark: Dict[Path, int]) -> str:
    """What the logs got after `mark` (logs that appeared since, whole)."""
    parts = []
    for log in sorted(Path(servers.log_dir).glob("*.log")):
        with log.open("rb") as handle:
            handle.seek(mark.get(log, 0))
            parts.append(handle.read().decode("utf-8", "replace"))
    return "\n".join(parts)
