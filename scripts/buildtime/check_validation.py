"""Fail on any warning in `rasa data validate`'s log except the expected ones.

The responses of the guarded turn (config.yml, ClinicRulePolicy's `guard_responses`) are
predicted by the policy, not by a rule, and a form asks for each of its slots with
`utter_ask_<slot>` on its own; so Rasa's "not used in any story or rule" warning about
them is expected, as it is for the responses that custom actions utter by name
(`response="utter_..."` in actions/). Any other warning fails, as `--fail-on-warning` would.
"""

import re
import sys
from pathlib import Path
from typing import List, Set

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WARNING = re.compile(r"UserWarning|WARNING|ERROR|Error")
UNUSED = re.compile(r"The utterance '(\w+)' is not used in any story or rule")


def policy_responses(config_path: Path = PROJECT_ROOT / "config.yml") -> Set[str]:
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    return {
        name
        for policy in config.get("policies", [])
        for name in (policy.get("guard_responses") or {}).values()
    }


def form_questions(domain_path: Path = PROJECT_ROOT / "domain.yml") -> Set[str]:
    domain = yaml.safe_load(domain_path.read_text(encoding="utf-8"))
    return {
        f"utter_ask_{slot}"
        for form in (domain.get("forms") or {}).values()
        for slot in (form or {}).get("required_slots") or []
    }


def action_responses(actions_dir: Path = PROJECT_ROOT / "actions") -> Set[str]:
    """Responses a custom action utters by name (dispatcher.utter_message(response=...))."""
    named = re.compile(r"""response=["'](utter_\w+)["']""")
    return {
        name
        for path in actions_dir.glob("*.py")
        for name in named.findall(path.read_text(encoding="utf-8"))
    }


def unexpected_warnings(log: str, expected_unused: Set[str]) -> List[str]:
    problems = []
    for line in log.splitlines():
        if not WARNING.search(line):
            continue
        unused = UNUSED.search(line)
        if unused and unused.group(1) in expected_unused:
            continue
        problems.append(line)
    return problems


def main() -> int:
    log = Path(sys.argv[1]).read_text(encoding="utf-8", errors="replace")
    problems = unexpected_warnings(log, policy_responses() | form_questions() | action_responses())
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
