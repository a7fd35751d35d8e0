"""Write the credentials file Rasa starts with: the channels of credentials.yml whose
environment variables are set.

Rasa refuses to start when credentials.yml names an unset ${VAR}, and Telegram's connector
calls Telegram when it starts, so a channel is only switched on when the clinic has set
its variables. In credentials.yml, `${VAR}` is required, `${VAR:-}` is optional and
`${VAR:-value}` is optional with a default. Secrets stay `${VAR}` in the written file:
Rasa reads them from the environment, so they are never written to disk. A required
variable of more than one channel (the Twilio account of SMS and WhatsApp) switches on
none by itself: each channel is on by its own variables.
"""

import os
import re
import sys
from pathlib import Path
from collections import Counter
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS_TEMPLATE = PROJECT_ROOT / "credentials.yml"
BUILD_CREDENTIALS = PROJECT_ROOT / "build" / "credentials.yml"

_VARIABLE = re.compile(r"^\$\{(\w+)(:-(.*))?\}$")


class CredentialsError(ValueError):
    """A channel is only partly configured."""


def _variable(value: Any) -> Optional[Tuple[str, Optional[str]]]:
    """(name, default) of a `${VAR}` / `${VAR:-default}` value; default None when required."""
    match = _VARIABLE.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    return match.group(1), match.group(3) if match.group(2) else None


def webhook_name(channel: str) -> str:
    """The channel's part of its webhook URL: a module path's module (channels.twilio.X -> twilio)."""
    return channel.split(".")[-2] if "." in channel else channel


def shared_variables(template: Mapping[str, Any]) -> Set[str]:
    """The required variables that more than one channel names."""
    names = Counter(
        variable[0]
        for settings in template.values()
        if isinstance(settings, dict)
        for variable in map(_variable, settings.values())
        if variable is not None and variable[1] is None
    )
    return {name for name, count in names.items() if count > 1}


def enabled_channels(template: Mapping[str, Any], env: Mapping[str, str]) -> Dict[str, Any]:
    """The channels whose required variables are all set, optional unset ones filled or dropped."""
    channels: Dict[str, Any] = {}
    problems: List[str] = []
    shared = shared_variables(template)
    # Channels off with only shared variables set: partly configured unless another
    # channel uses those variables.
    unused: List[Tuple[str, List[str], List[str]]] = []
    for channel, settings in template.items():
        if not isinstance(settings, dict):
            channels[channel] = settings
            continue
        kept: Dict[str, Any] = {}
        missing: List[str] = []
        present: List[str] = []
        shared_present: List[str] = []
        for key, value in settings.items():
            variable = _variable(value)
            if variable is None:
                kept[key] = value
                continue
            name, default = variable
            if env.get(name):
                kept[key] = f"${{{name}}}"
                if default is None:
                    present.append(name)
                if name in shared:
                    shared_present.append(name)
            elif default is None:
                missing.append(name)
            elif default:
                kept[key] = default
        if not missing:
            channels[channel] = kept
        elif set(present) - set(shared_present):
            problems.append(partly_configured(channel, missing, present))
        elif present:
            unused.append((channel, missing, present))
    in_use = {
        variable[0]
        for settings in channels.values()
        if isinstance(settings, dict)
        for variable in map(_variable, settings.values())
        if variable is not None
    }
    problems += [
        partly_configured(channel, missing, present)
        for channel, missing, present in unused
        if not set(present) & in_use
    ]
    if problems:
        raise CredentialsError("\n".join(problems))
    return channels


def partly_configured(channel: str, missing: List[str], present: List[str]) -> str:
    return (
        f"{webhook_name(channel)} is only partly configured: set {', '.join(missing)} "
        f"(already set: {', '.join(present)})"
    )


def build_credentials(
    env: Mapping[str, str],
    out: Path = BUILD_CREDENTIALS,
    template_path: Path = CREDENTIALS_TEMPLATE,
) -> List[str]:
    """Write the credentials file for this environment and return the channels it enables."""
    template = yaml.safe_load(template_path.read_text(encoding="utf-8")) or {}
    channels = enabled_channels(template, env)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = "# Generated from credentials.yml by scripts/ops/build_credentials.py; do not edit.\n"
    body = "\n".join(
        yaml.safe_dump({name: settings}, sort_keys=False) if settings else f"{name}:\n"
        for name, settings in channels.items()
    )
    out.write_text(header + body, encoding="utf-8")
    return list(channels)


if __name__ == "__main__":
    try:
        print("Channels:", ", ".join(build_credentials(os.environ)))
    except CredentialsError as error:
        sys.exit(f"Cannot start: {error}")
