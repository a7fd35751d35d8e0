"""Free disk space before `make test` or `make images`: a full disk fails hundreds of tests at
once with errors that never say why, so the run says it first (a warning; it stops nothing).

Standard library only: it runs with the machine's python3, before the virtual environment exists.
"""

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

GIB = 1024**3
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTAINER_STORAGE = Path("/var/lib/containers")

# What a run writes at its peak, measured on a fresh clone (2026-12-07): the virtual
# environment, model and widget (3.6 GB); one service install at a time in the temporary
# folder (3.7 GB), and the servers' files; podman's base and the two images (3.3 GB).
NEEDS_GIB: Dict[str, Dict[str, float]] = {
    "test": {"project": 4.0, "temporary": 4.5, "containers": 4.0},
    "images": {"project": 4.0, "containers": 4.0},
}


def existing(path: Path) -> Path:
    """`path`, or its nearest parent that exists (podman's storage may not exist yet)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def shortfalls(needs: Sequence[Tuple[Path, float]]) -> List[Tuple[Path, float, float]]:
    """Each file system that has less free space than the places on it need, once:
    (a place on it, GiB free, GiB needed). Places on one file system add up."""
    by_device: Dict[int, Tuple[Path, float]] = {}
    for path, gib in needs:
        place = existing(path)
        device = os.stat(place).st_dev
        first, total = by_device.get(device, (place, 0.0))
        by_device[device] = (first, total + gib)
    short = []
    for place, needed in by_device.values():
        free = shutil.disk_usage(place).free / GIB
        if free < needed:
            short.append((place, free, needed))
    return short


def warning(place: Path, free: float, needed: float, step: str) -> str:
    return (
        f"WARNING: only {free:.1f} GB free on the file system of {place}; make {step} writes "
        f"about {needed:.0f} GB there. Tests fail in bulk when the disk fills: free space first."
    )


def places(step: str) -> List[Tuple[Path, float]]:
    where = {
        "project": PROJECT_ROOT,
        "temporary": Path(tempfile.gettempdir()),
        "containers": CONTAINER_STORAGE,
    }
    return [(where[name], gib) for name, gib in NEEDS_GIB[step].items()]


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=sorted(NEEDS_GIB))
    step = parser.parse_args(argv).step
    for place, free, needed in shortfalls(places(step)):
        print(warning(place, free, needed, step), file=sys.stderr)


if __name__ == "__main__":
    main()
