"""scripts/ops/settings.py: the settings the scripts read from the environment, in one place,
with the defaults they always had; an empty variable counts as unset."""

from pathlib import Path

from scripts.ops import settings
from scripts.ops.container import PORTS
from scripts.ops.serve_one import service_servers

SECRETS = {"LOG_ID_SALT": "a" * 32, "CONVERSATION_ID_SECRET": "b" * 64}


def test_the_defaults_are_the_ones_the_scripts_always_had() -> None:
    assert {name: settings.port(name, {}) for name in settings.DEFAULT_PORTS} == {
        "RASA_PORT": 5005,
        "ACTION_PORT": 5055,
        "ALERT_SENDER_PORT": 5056,
        "WEB_PORT": 8080,
        "STAFF_INBOX_PORT": 8090,
        "CLUSTER_PORT": 8000,
    }
    assert PORTS == {"rasa": 5005, "actions": 5055, "alerts": 5056, "inbox": 8090, "page": 8080}
    assert settings.PROJECT_ROOT == Path(__file__).resolve().parent.parent
    assert (
        settings.tracker_store_url({}) == f"sqlite:///{settings.PROJECT_ROOT}/var/conversations.db"
    )
    assert settings.postgresql_schema({}) is None and settings.public_url({}) is None
    assert settings.interface("RASA_INTERFACE", {}) == "127.0.0.1"
    assert settings.count("REPLICAS", settings.DEFAULT_REPLICAS, {}) == 2
    assert settings.retention_days({}) == 30 and settings.report_timezone({}) == "UTC"
    assert settings.report_out({}) == settings.PROJECT_ROOT / "var" / "reports" / "report.html"


def test_the_environment_wins_and_an_empty_variable_is_unset() -> None:
    env = {
        "RASA_PORT": "5105",
        "WEB_PORT": "",
        "TRACKER_STORE_URL": "postgresql://db/rasa",
        "POSTGRESQL_SCHEMA": "clinic",
        "RETENTION_DAYS": "7",
        "REPORT_TIMEZONE": "",
    }
    assert settings.port("RASA_PORT", env) == 5105 and settings.port("WEB_PORT", env) == 8080
    assert settings.configured_port("WEB_PORT", env) is None
    assert settings.tracker_store_url(env) == "postgresql://db/rasa"
    assert settings.postgresql_schema(env) == "clinic"
    assert settings.postgresql_schema({"POSTGRESQL_SCHEMA": ""}) is None
    assert settings.retention_days(env) == 7 and settings.report_timezone(env) == "UTC"


def test_a_unit_and_make_run_read_the_same_ports() -> None:
    servers = service_servers({**SECRETS, "RASA_PORT": "5105", "ACTION_PORT": ""})
    assert (
        servers.rasa_port,
        servers.action_port,
        servers.web_port,
        servers.alert_sender_port,
        servers.inbox_port,
    ) == (5105, 5055, 8080, 5056, 8090)
    assert servers.env["WEB_ORIGIN"] == settings.default_web_origin(8080) == "http://localhost:8080"
