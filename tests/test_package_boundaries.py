"""Which package may import which (issue 15): read with `ast`, so no import is executed.

clinic/ is the pure domain logic both servers import: it imports neither Rasa nor rasa_sdk,
nor the action server's package, nor the Rasa server's adapters. The Rasa server's packages
never import the action server's (`actions`), which holds only its rasa-sdk adapters.
"""

from pathlib import Path
from typing import Iterable, List

import pytest

from scripts.buildtime import import_graph
from scripts.buildtime.import_graph import imported_modules

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RASA_SERVER_PACKAGES = ("nlu_components", "policies", "channels", "stores")
CLINIC_FORBIDDEN = ("rasa", "rasa_sdk", "actions", *RASA_SERVER_PACKAGES)
ACTIONS_FILES = {"__init__.py", "actions.py"}


def forbidden_imports(
    folder: Path, forbidden: Iterable[str], root: Path = PROJECT_ROOT
) -> List[str]:
    """`file:line imports module` for each import of a forbidden top-level package."""
    forbidden = set(forbidden)
    problems = []
    for path in sorted(folder.rglob("*.py")):
        for line, module in imported_modules(path):
            if module.split(".")[0] in forbidden:
                problems.append(f"{path.relative_to(root)}:{line} imports {module}")
    return problems


@pytest.mark.parametrize("package", RASA_SERVER_PACKAGES)
def test_the_rasa_servers_packages_never_import_the_action_server(package: str) -> None:
    assert (PROJECT_ROOT / package).is_dir()
    assert forbidden_imports(PROJECT_ROOT / package, ["actions"]) == []


def test_clinic_imports_neither_rasa_nor_an_adapter() -> None:
    assert (PROJECT_ROOT / "clinic" / "__init__.py").is_file()
    assert forbidden_imports(PROJECT_ROOT / "clinic", CLINIC_FORBIDDEN) == []


def test_actions_holds_only_the_rasa_sdk_adapters() -> None:
    entries = {p.name for p in (PROJECT_ROOT / "actions").iterdir() if p.name != "__pycache__"}
    assert entries == ACTIONS_FILES


@pytest.mark.parametrize(
    "source",
    [
        "from actions.actions import RULES\n",
        "import actions.actions\n",
        "import actions\n",
        "def later():\n    from rasa_sdk import Action\n",
        "import os, rasa.core.agent\n",
    ],
)
def test_a_forbidden_import_is_named_with_its_file_and_line(tmp_path: Path, source: str) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "fine.py").write_text(
        "import yaml\nfrom clinic.screening import assess\n"
        "from . import sibling\nimport rasa_like\n"
    )
    (tmp_path / "pkg" / "bad.py").write_text("import json\n" + source)
    problems = forbidden_imports(tmp_path / "pkg", CLINIC_FORBIDDEN, root=tmp_path)
    assert len(problems) == 1 and problems[0].startswith(f"{Path('pkg', 'bad.py')}:")
    assert problems[0].split(" imports ")[0].rsplit(":", 1)[1] == str(source.count("\n") + 1)


def test_the_drawing_of_the_import_graph_is_current() -> None:
    """docs/import_graph.md is what scripts/buildtime/import_graph.py draws from the code now."""
    assert import_graph.DRAWING.read_text(encoding="utf-8") == import_graph.drawing(
        import_graph.edges()
    )


def test_clinic_is_the_ground_floor_every_server_package_stands_on() -> None:
    found = import_graph.edges()
    assert [edge for edge in found if edge[0] == "clinic"] == []
    reaches = {package: {b for a, b in found if a == package} for package in import_graph.PACKAGES}
    for _ in import_graph.PACKAGES:  # close transitively
        for package, targets in reaches.items():
            targets |= {t for target in list(targets) for t in reaches[target]}
    for package in ("actions", *RASA_SERVER_PACKAGES):
        assert "clinic" in reaches[package], f"{package} does not stand on clinic"
