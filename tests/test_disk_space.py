"""Before `make test` writes its gigabytes, a file system short of space is named in a warning
(a full disk once failed a CI run's tests in bulk, with errors that never said why)."""

import shutil
from pathlib import Path

import pytest

from scripts.ops import disk_space


def free_gib(path: Path) -> float:
    return shutil.disk_usage(path).free / disk_space.GIB


def test_places_on_one_file_system_add_up(tmp_path: Path) -> None:
    free = free_gib(tmp_path)
    assert disk_space.shortfalls([(tmp_path, free * 0.5)]) == []
    # Each fits alone; together they do not. The second place does not exist yet.
    [(place, found, needed)] = disk_space.shortfalls(
        [(tmp_path, free * 0.6), (tmp_path / "not" / "made", free * 0.6)]
    )
    assert place == tmp_path and needed == pytest.approx(free * 1.2)
    assert found == pytest.approx(free, rel=0.01)


def test_the_warning_names_the_place_and_the_sizes_and_stops_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(disk_space, "PROJECT_ROOT", tmp_path)
    monkeypatch.setitem(disk_space.NEEDS_GIB, "images", {"project": 10**9})
    disk_space.main(["images"])
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.startswith("WARNING: only ")
    assert f"GB free on the file system of {tmp_path}; make images writes about 1000000000 GB" in (
        printed.err
    )


def test_enough_space_prints_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(disk_space, "PROJECT_ROOT", tmp_path)
    monkeypatch.setitem(disk_space.NEEDS_GIB, "images", {"project": 0.0})
    disk_space.main(["images"])
    assert capsys.readouterr() == ("", "")
