"""The tiers tests are marked with (tests/tiers.py): chosen from what a test needs."""

from pathlib import Path

from tiers import ADAPTERS, FILE_TIERS, INTEGRATION, SYSTEM, UNIT, tier

TESTS = Path(__file__).resolve().parent


def test_a_test_needing_servers_or_a_deployment_is_not_unit() -> None:
    here = TESTS / "test_extraction.py"
    assert tier(here, ["tmp_path"]) == UNIT
    assert tier(here, ["tmp_path", "servers"]) == INTEGRATION
    assert tier(here, ["model_path"]) == INTEGRATION
    assert tier(here, ["browser", "servers"]) == SYSTEM


def test_a_test_module_importing_a_rasa_adapter_is_an_adapters_test(tmp_path: Path) -> None:
    adapter = tmp_path / "test_adapter.py"
    adapter.write_text("from channels.sms import keyword\n")
    pure = tmp_path / "test_pure.py"
    pure.write_text("from clinic.screening import is_question\n")
    assert tier(adapter, []) == ADAPTERS
    assert tier(pure, []) == UNIT


def test_every_file_named_in_the_table_exists() -> None:
    assert [name for name in FILE_TIERS if not (TESTS / name).exists()] == []
