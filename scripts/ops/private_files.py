"""Files only their owner can read: conversations, logs and secrets are health data or lead to it.

Processes we start get the umask PRIVATE_UMASK, so what they create is private from the start;
these helpers cover what we create ourselves and what an earlier run left readable.
"""

import os
from pathlib import Path
from typing import BinaryIO, Iterable

# Files 0600, folders 0700.
PRIVATE_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) and make it 0700, also if it existed before."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def make_private(paths: Iterable[Path]) -> None:
    """chmod 0600 each of `paths` that exists (left readable by an earlier run or by make)."""
    for path in paths:
        if path.is_file():
            path.chmod(0o600)


def open_private(path: Path, mode: str = "ab") -> BinaryIO:
    """Open `path` for appending or writing, created 0600 (never briefly readable by others)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    descriptor = os.open(path, flags, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, mode)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` as a 0600 file."""
    with open_private(path, "wb") as file:
        file.write(text.encode("utf-8"))
