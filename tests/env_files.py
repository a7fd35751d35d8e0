"""For the tests: reading an env file (/etc/clinic-assistant/env, deploy/clinic.env) as systemd's
EnvironmentFile= and Compose's env_file read the simple form the project writes: one
NAME=value a line, `#` comments and blank lines ignored, a value in matching quotes unquoted.
"""

from pathlib import Path
from typing import Dict


def parse_env(text: str) -> Dict[str, str]:
    values: Dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def read_env_file(path: Path) -> Dict[str, str]:
    return parse_env(path.read_text(encoding="utf-8"))
