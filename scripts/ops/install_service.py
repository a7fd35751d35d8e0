"""Install the assistant as systemd services on this host (`make install-service`, as root).

Creates the `clinic-assistant` user, copies the project (its tracked files and what
`make run` built: .venv, models/, web/node_modules) into the install folder,
writes /etc/clinic-assistant/env from deploy/env/ with generated secrets when it does not
exist, installs deploy/systemd/ and deploy/logrotate/ with the install folder in their
paths, then enables and starts clinic-assistant.target when systemd runs.

`--root DIR` (make's DESTDIR) installs under DIR instead of / and changes no owner, user or
service: it prints the commands it would run, so a test can check the files it writes.
"""

import argparse
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from scripts.ops.private_files import private_dir, write_private

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVICE_USER = "clinic-assistant"
DEFAULT_INSTALL_DIR = Path("/opt/clinic-assistant")
ENV_FILE = Path("/etc/clinic-assistant/env")
UNIT_DIR = Path("/etc/systemd/system")
LOGROTATE_FILE = Path("/etc/logrotate.d/clinic-assistant")
TARGET = "clinic-assistant.target"

UNIT_SOURCES = PROJECT_ROOT / "deploy" / "systemd"
ENV_EXAMPLE = PROJECT_ROOT / "deploy" / "env" / "clinic-assistant.env.example"
LOGROTATE_SOURCE = PROJECT_ROOT / "deploy" / "logrotate" / "clinic-assistant"
# The placeholders of the install folder in the shipped files.
UNIT_INSTALL_DIR = "/opt/clinic-assistant"
LOGROTATE_INSTALL_DIR = "/srv/assistant"
# What make run builds beside the tracked files, and the services need.
BUILT = (".venv", "models", "web/node_modules")
# Kept across reinstalls (upgrades): the conversations, logs and secrets.
KEPT = "var"
# ProtectHome= hides these from the services, and their owners' modes usually do too.
HOME_FOLDERS = (Path("/root"), Path("/home"), Path("/run/user"))


def unit_text(text: str, install_dir: Path, user: str = SERVICE_USER) -> str:
    """A shipped unit with the install folder and the service user written in."""
    text = text.replace(UNIT_INSTALL_DIR, str(install_dir))
    return text.replace(f"User={SERVICE_USER}", f"User={user}").replace(
        f"Group={SERVICE_USER}", f"Group={user}"
    )


def env_text(example: str, generated: Dict[str, str]) -> str:
    """The env file: the example with each @NAME@ replaced by its generated secret."""
    for name, value in generated.items():
        example = example.replace(f"@{name}@", value)
    if "@" in "".join(line.split("#", 1)[0] for line in example.splitlines()):
        raise ValueError("the env example has a placeholder with no generated value")
    return example


def new_secrets() -> Dict[str, str]:
    """The installation's secrets, as scripts/ops/serve.py makes them in var/ for make run."""
    return {"LOG_ID_SALT": secrets.token_hex(16), "CONVERSATION_ID_SECRET": secrets.token_hex(32)}


def logrotate_text(text: str, install_dir: Path) -> str:
    """The shipped logrotate file with the install folder in its log paths (comments kept)."""
    return text.replace(f"{LOGROTATE_INSTALL_DIR}/var/", f"{install_dir}/var/")


def home_folder_problem(python: Path) -> Optional[str]:
    """Why the services could not run `python` (ProtectHome=yes hides home folders), if so."""
    real = python.resolve()
    for home in HOME_FOLDERS:
        if real == home or home in real.parents:
            return (
                f"{python} is {real}, inside {home}, which the services cannot see "
                f"(ProtectHome=yes, and {home} is usually private): install Python 3.10 "
                "outside home folders (e.g. PYENV_ROOT=/opt/pyenv pyenv install 3.10.13) "
                "and rebuild .venv with it (rm -rf .venv; make install)."
            )
    return None


def tracked_files(source: Path) -> List[str]:
    """The project's files as git knows them (never var/, .git or local leftovers)."""
    listing = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z"], check=True, capture_output=True, text=True
    ).stdout
    return [name for name in listing.split("\0") if name]


def copy_project(source: Path, target: Path) -> None:
    """Replace the install folder's code with the project's, keeping var/."""
    if target == source or target in source.parents or target == Path(target.anchor):
        raise ValueError(f"{target} holds the project itself: choose another install folder")
    # An earlier install has the launcher, where it is now or where it was before scripts/ was
    # split into packages (issue 15).
    earlier = any((target / "scripts" / where).exists() for where in ("ops/serve.py", "serve.py"))
    if target.exists() and any(target.iterdir()) and not earlier:
        raise ValueError(f"{target} is not empty and holds no earlier install: nothing replaced")
    target.mkdir(parents=True, exist_ok=True)
    for entry in target.iterdir():
        if entry.name == KEPT:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for name in tracked_files(source):
        if (source / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name, follow_symlinks=False)
    for name in BUILT:
        if not (source / name).exists():
            raise FileNotFoundError(f"{source / name} is missing: run `make train web` first")
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if (source / name).is_symlink():
            # A link stays a link (a worktree sharing another's .venv).
            os.symlink(os.readlink(source / name), target / name)
        else:
            shutil.copytree(source / name, target / name, symlinks=True)


def install_file(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, text)  # created 0600, so never briefly readable by others
    path.chmod(mode)


def systemd_running() -> bool:
    """True when systemd is this machine's init (sd_booted(3) checks the same folder)."""
    return Path("/run/systemd/system").is_dir()


def run_or_say(command: List[str], really: bool) -> None:
    if really:
        print("+", " ".join(command), flush=True)
        subprocess.run(command, check=True)
    else:
        print("would run:", " ".join(command))


def user_commands(user: str, install_dir: Path, exists: bool) -> List[List[str]]:
    """Create the unprivileged service user (no login, home in var/) and give it var/."""
    var = str(install_dir / KEPT)
    commands = (
        []
        if exists
        else [
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                var,
                "--shell",
                "/usr/sbin/nologin",
                user,
            ]
        ]
    )
    return commands + [["chown", "-R", f"{user}:{user}", var]]


def user_exists(user: str) -> bool:
    return subprocess.run(["getent", "passwd", user], capture_output=True).returncode == 0


def install(root: Path, install_dir: Path, user: str, source: Path = PROJECT_ROOT) -> None:
    """Write everything under `root` ("/" on the host itself)."""
    on_host = root == Path("/")

    def at(path: Path) -> Path:
        return root / path.relative_to("/")

    python_problem = home_folder_problem(source / ".venv" / "bin" / "python")
    if python_problem:
        if on_host:
            sys.exit(f"Not installed: {python_problem}")
        print(f"warning: {python_problem}")

    copy_project(source, at(install_dir))
    private_dir(at(install_dir) / KEPT)
    private_dir(at(install_dir) / KEPT / "logs")
    print(f"Installed the project into {at(install_dir)} (var/ kept)")

    env_file = at(ENV_FILE)
    if env_file.exists():
        print(f"{env_file} exists: left as it is")
    else:
        private_dir(env_file.parent)
        install_file(env_file, env_text(ENV_EXAMPLE.read_text(), new_secrets()), 0o600)
        print(
            f"Wrote {env_file} (mode 600, new LOG_ID_SALT and CONVERSATION_ID_SECRET): "
            "set WEB_ORIGIN and RASA_PUBLIC_URL in it"
        )

    for unit in sorted(UNIT_SOURCES.iterdir()):
        install_file(
            at(UNIT_DIR) / unit.name, unit_text(unit.read_text(), install_dir, user), 0o644
        )
    install_file(
        at(LOGROTATE_FILE), logrotate_text(LOGROTATE_SOURCE.read_text(), install_dir), 0o644
    )
    print(f"Installed the units into {at(UNIT_DIR)} and the log rotation into {at(LOGROTATE_FILE)}")

    for command in user_commands(user, install_dir, on_host and user_exists(user)):
        run_or_say(command, on_host)
    really = on_host and systemd_running()
    if on_host and not really:
        print("systemd is not running here, so no service was started.")
    run_or_say(["systemctl", "daemon-reload"], really)
    run_or_say(["systemctl", "enable", TARGET], really)
    # Starts the services, or on a reinstall (an upgrade) restarts them on the new code.
    run_or_say(["systemctl", "restart", TARGET], really)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        help="install under this folder (DESTDIR); changes no user or service",
    )
    parser.add_argument("--install-dir", type=Path, default=DEFAULT_INSTALL_DIR)
    parser.add_argument("--user", default=SERVICE_USER)
    args = parser.parse_args()
    if not args.install_dir.is_absolute():
        sys.exit("--install-dir must be an absolute path")
    root = args.root.resolve()
    if root == Path("/") and os.geteuid() != 0:
        sys.exit("make install-service runs as root (or give DESTDIR=<folder> to try it out)")
    try:
        install(root, args.install_dir, args.user)
    except (ValueError, FileNotFoundError, subprocess.CalledProcessError) as problem:
        sys.exit(f"Not installed: {problem}")


if __name__ == "__main__":
    main()
