"""Assemble the domain Rasa trains on: `domain.yml` plus the clinic's details as slots.

The clinic's details become `clinic_*` slots with initial values, so responses in
`domain.yml` read them (`{clinic_phone}`) and need no action server to show them.
"""

import sys
from pathlib import Path

import yaml

from actions.clinic_config import CLINIC_CONFIG_PATH, ClinicConfigError, load_clinic_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUILD_DOMAIN_DIR = PROJECT_ROOT / "build" / "domain"


def clinic_domain(slot_values: dict) -> dict:
    """A domain fragment declaring one text slot per clinic detail."""
    slots = {
        name: {
            "type": "text",
            "initial_value": value,
            "influence_conversation": False,
            "mappings": [{"type": "custom"}],
        }
        for name, value in slot_values.items()
    }
    return {"version": "3.1", "slots": slots}


def build_domain(out_dir: Path = BUILD_DOMAIN_DIR, config_path: Path = CLINIC_CONFIG_PATH) -> Path:
    """Write the assembled domain folder and return it."""
    config = load_clinic_config(config_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    fragment = "# Generated from knowledge/clinic_config.yml by scripts/build_domain.py.\n"
    fragment += yaml.safe_dump(clinic_domain(config.as_slots()), sort_keys=False, allow_unicode=True)
    _write_if_changed(out_dir / "domain.yml", (PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    _write_if_changed(out_dir / "clinic.yml", fragment)
    return out_dir


def _write_if_changed(path: Path, text: str) -> None:
    # Unchanged files keep their timestamps, so make does not retrain for nothing.
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    try:
        build_domain()
    except ClinicConfigError as error:
        sys.exit(f"Cannot start: the clinic config is invalid.\n{error}")
