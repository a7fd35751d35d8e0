"""deploy/logrotate/clinic-assistant: daily, 14 kept, compressed, and the servers' open log
files go on working after a rotation (logrotate run for real on a copy of the config)."""

import gzip
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Dict, List

from scripts.ops.private_files import open_private, private_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG = PROJECT_ROOT / "deploy" / "logrotate" / "clinic-assistant"
LOGROTATE = shutil.which("logrotate") or "/usr/sbin/logrotate"


def parse_logrotate(text: str) -> Dict[str, List[str]]:
    """Each `pattern { ... }` block's directives, comments left out; raises on an unclosed
    or stray brace, as logrotate refuses such a file."""
    blocks: Dict[str, List[str]] = {}
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        opening = re.fullmatch(r"(\S.*?)\s*\{", line)
        if opening and current is None:
            current = opening.group(1)
            blocks[current] = []
        elif line == "}" and current is not None:
            current = None
        elif current is None or "{" in line or "}" in line:
            raise ValueError(f"line {number}: {raw!r} outside a block or a stray brace")
        else:
            blocks[current].append(line)
    if current is not None:
        raise ValueError(f"block {current!r} is not closed")
    return blocks


def test_the_config_rotates_the_servers_logs_daily_keeps_14_compressed_and_copies() -> None:
    blocks = parse_logrotate(CONFIG.read_text())
    [(pattern, directives)] = blocks.items()
    assert pattern == "/srv/assistant/var/logs/*.log"
    assert {"daily", "rotate 14", "compress", "copytruncate"} <= set(directives)
    # create would make a new file the servers never write to.
    assert not any(d.split()[0] == "create" for d in directives)


def test_a_rotation_by_logrotate_keeps_the_old_lines_private_and_the_open_file_working(
    tmp_path: Path,
) -> None:
    assert Path(LOGROTATE).exists(), (
        "logrotate is not installed: run the tests with `make test`, which installs it"
    )
    logs = private_dir(tmp_path / "srv" / "var" / "logs")
    config = tmp_path / "clinic-assistant"
    config.write_text(CONFIG.read_text().replace("/srv/assistant", str(tmp_path / "srv")))
    state = tmp_path / "logrotate.state"
    checked = subprocess.run(
        [LOGROTATE, "-d", "-s", str(state), str(config)], capture_output=True, text=True
    )
    assert checked.returncode == 0 and "error" not in checked.stderr.lower(), checked.stderr
    with open_private(logs / "rasa.log") as server_log:  # as scripts/ops/serve.py opens it
        server_log.write(b"before the rotation\n")
        server_log.flush()
        rotated = subprocess.run(
            [LOGROTATE, "-f", "-s", str(state), str(config)], capture_output=True, text=True
        )
        assert rotated.returncode == 0, rotated.stderr
        server_log.write(b"after the rotation\n")
        server_log.flush()
    old = logs / "rasa.log.1.gz"
    assert gzip.decompress(old.read_bytes()) == b"before the rotation\n"
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert (logs / "rasa.log").read_bytes() == b"after the rotation\n"
