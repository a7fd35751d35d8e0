"""Reading the clinic-editable YAML files, with errors a clinic can act on."""

from pathlib import Path
from typing import Any, List, Type

import yaml


def read_yaml(path: Path, error: Type[Exception]) -> Any:
    """Parse the YAML file, raising `error` that names the file when it is missing or broken."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: file not found.") from None
    except yaml.YAMLError as problem:
        raise error(f"{path}: not valid YAML: {problem}") from None


def problems_message(source: str, problems: List[str]) -> str:
    """All the problems found in one file, one per line."""
    return f"{source} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
