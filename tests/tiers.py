"""The four tiers of the tests, chosen for each test from what it needs, as pytest markers
(pytest.ini): `make test-unit` runs the first, `make test` all of them.

- unit: the clinic's logic and pure helpers, no model, no servers, no programs (seconds);
- adapters: Rasa, rasa-sdk and Sanic adapters (channels, actions, stores, components) in
  process, no model, no servers;
- integration: real servers or programs (the trained model, the Rasa and action servers,
  PostgreSQL, SMTP, nginx, logrotate, the page server);
- system: a whole deployment (the cluster, containers, a browser, systemd units).
"""

from functools import lru_cache
from pathlib import Path
from typing import Iterable

from scripts.buildtime.import_graph import imported_modules

UNIT, ADAPTERS, INTEGRATION, SYSTEM = "unit", "adapters", "integration", "system"
TIERS = (UNIT, ADAPTERS, INTEGRATION, SYSTEM)

# Fixtures that bring up a whole deployment, or real servers and programs.
SYSTEM_FIXTURES = frozenset({"browser", "cluster", "deployment"})
SERVER_FIXTURES = frozenset(
    {
        "servers",
        "model_path",
        "postgres",
        "smtp",
        "webhook",
        "compose_redis",
        "page_server",
        "certificates",
        "backup",
        "database",
    }
)
# Test files that run programs themselves, with no fixture saying so.
FILE_TIERS = {
    "test_container_images.py": SYSTEM,
    "test_host_service.py": SYSTEM,
    "test_deploy_compose.py": INTEGRATION,
    "test_deploy_manifests.py": INTEGRATION,
    "test_deploy_configs.py": INTEGRATION,
    "test_log_rotation.py": INTEGRATION,
    "test_conversation_retention.py": INTEGRATION,
    "test_remote_action_retries.py": INTEGRATION,
    "test_staff_accounts.py": INTEGRATION,
    "test_masking.py": INTEGRATION,
    "test_bench_smoke.py": INTEGRATION,
    # The page's files include the widget bundle `make web` installs.
    "test_web_page.py": INTEGRATION,
    # Renders every spoken reply with espeak-ng.
    "test_voice_speech.py": INTEGRATION,
}
# The packages whose import makes a test an adapters test (they load Rasa or Sanic).
ADAPTER_PACKAGES = frozenset(
    {
        "rasa",
        "rasa_sdk",
        "sanic",
        "actions",
        "channels",
        "nlu_components",
        "policies",
        "stores",
        "staff",
    }
)


@lru_cache(maxsize=None)
def imports_adapters(path: Path) -> bool:
    """True when the test module imports a Rasa-side package (read with ast, not imported)."""
    return any(module.split(".")[0] in ADAPTER_PACKAGES for _, module in imported_modules(path))


def tier(path: Path, fixtures: Iterable[str]) -> str:
    """The tier of a test in `path` that uses `fixtures` (its whole fixture closure)."""
    used = set(fixtures)
    if used & SYSTEM_FIXTURES:
        return SYSTEM
    if path.name in FILE_TIERS:
        return FILE_TIERS[path.name]
    if used & SERVER_FIXTURES:
        return INTEGRATION
    return ADAPTERS if imports_adapters(path) else UNIT
