"""The systemd units of deploy/systemd/ and `make install-service`: each unit runs the very
command `make run` starts for its process, and an install into a folder writes the units,
the env file with its secrets, the log rotation and the project, with the right modes."""

import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, Iterator, List

import pytest

from env_files import read_env_file
from scripts.ops import processes, serve
from scripts.ops.install_service import (
    ENV_FILE,
    SERVICE_USER,
    UNIT_INSTALL_DIR,
    copy_project,
    home_folder_problem,
)
from scripts.ops.serve import PROCESS_LOGS, PROJECT_ROOT
from scripts.ops.serve_one import service_servers

UNITS = PROJECT_ROOT / "deploy" / "systemd"
TARGET = "clinic-assistant.target"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
HOST_ENV = {
    "LOG_ID_SALT": "a" * 32,
    "CONVERSATION_ID_SECRET": "b" * 64,
    "WEB_ORIGIN": "https://chat.clinic.test",
    "RASA_PUBLIC_URL": "https://chat.clinic.test",
    "RASA_PORT": "5105",
    "STAFF_INBOX_PORT": "8190",
}


def unit_settings(text: str) -> Dict[str, List[str]]:
    """Each `Key=value` of a unit file (all sections), comments left out."""
    settings: Dict[str, List[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def make_run_commands(
    monkeypatch: pytest.MonkeyPatch, servers: serve.Servers
) -> Dict[str, List[str]]:
    """The command lines scripts/ops/serve.py's start functions (make run) give subprocess.Popen."""
    started: Dict[str, List[str]] = {}

    def popen(command: List[str], **kwargs: object) -> object:
        started[" ".join(command)] = command
        return None

    monkeypatch.setattr(
        processes, "subprocess", SimpleNamespace(Popen=popen, STDOUT=subprocess.STDOUT)
    )
    monkeypatch.setattr(serve, "wait_until_up", lambda *args, **kwargs: None)
    monkeypatch.setattr(processes, "open_private", lambda path: subprocess.DEVNULL)
    commands = {}
    for name, start in (
        ("actions", serve.start_action_server),
        ("page", serve.start_web_page),
        ("rasa", serve.start_rasa_server),
        ("alerts", serve.start_alert_sender),
        ("inbox", serve.start_staff_inbox),
    ):
        started.clear()
        start(servers)
        [commands[name]] = started.values()
    return commands


def test_each_unit_execs_the_command_make_run_starts_for_its_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    servers = service_servers(HOST_ENV)
    expected = make_run_commands(monkeypatch, servers)
    assert set(expected) == set(PROCESS_LOGS)
    for name in PROCESS_LOGS:
        unit = unit_settings((UNITS / f"clinic-assistant-{name}.service").read_text())
        [exec_start] = unit["ExecStart"]
        assert exec_start == f"{UNIT_INSTALL_DIR}/.venv/bin/python -m scripts.ops.serve_one {name}"
        printed = subprocess.run(
            [sys.executable, "-m", "scripts.ops.serve_one", name, "--print"],
            cwd=PROJECT_ROOT,
            env={"PATH": "/usr/bin:/bin", **HOST_ENV},
            capture_output=True,
            text=True,
            check=True,
        )
        assert shlex.split(printed.stdout) == expected[name], name
    # The env file's settings reach the commands (ports, public URL, CORS origin).
    assert "5105" in expected["rasa"] and "https://chat.clinic.test" in expected["rasa"]
    assert "https://chat.clinic.test" in expected["page"] and "8190" in expected["inbox"]


def test_the_units_restart_on_failure_as_an_unprivileged_user_and_write_only_var() -> None:
    names = {f"clinic-assistant-{name}.service" for name in PROCESS_LOGS}
    assert {p.name for p in UNITS.iterdir()} == names | {TARGET}
    target = unit_settings((UNITS / TARGET).read_text())
    assert set(" ".join(target["Wants"]).split()) == names
    assert target["WantedBy"] == ["multi-user.target"]
    for name in names:
        unit = unit_settings((UNITS / name).read_text())
        for key, value in {
            "Restart": "on-failure",
            "User": SERVICE_USER,
            "Group": SERVICE_USER,
            "EnvironmentFile": str(ENV_FILE),
            "WorkingDirectory": UNIT_INSTALL_DIR,
            "NoNewPrivileges": "yes",
            "ProtectSystem": "strict",
            "PrivateTmp": "yes",
            "ProtectHome": "yes",
            "ReadWritePaths": f"{UNIT_INSTALL_DIR}/var",
            "UMask": "0077",
            "PartOf": TARGET,
            "WantedBy": TARGET,
            "CapabilityBoundingSet": "",
        }.items():
            assert unit[key] == [value], (name, key)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """A folder to install into, deleted when the test ends. An install copies the virtual
    environment (about 3.7 GB) and pytest keeps its last three runs' folders: left behind,
    this file's installs took 14.8 GB a run and filled a CI machine's disk."""
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def install(root: Path, install_dir: str = "/srv/clinic") -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.ops.install_service",
            "--root",
            str(root),
            "--install-dir",
            install_dir,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_install_into_a_folder_writes_units_env_file_and_log_rotation(root: Path) -> None:
    output = install(root)
    home = root / "srv" / "clinic"
    # The project's code and what make run built; never the checkout's var/.
    assert (home / "scripts" / "ops" / "serve_one.py").read_bytes() == (
        PROJECT_ROOT / "scripts" / "ops" / "serve_one.py"
    ).read_bytes()
    assert (home / ".venv" / "bin" / "python").exists() and (home / "models").exists()
    assert (home / "web" / "node_modules" / "rasa-webchat" / "lib" / "index.js").exists()
    assert {p.name for p in (home / "var").iterdir()} == {"logs"} and mode(home / "var") == 0o700

    env_file = root / "etc" / "clinic-assistant" / "env"
    assert mode(env_file) == 0o600 and mode(env_file.parent) == 0o700
    env = read_env_file(env_file)
    assert re.fullmatch(r"[0-9a-f]{32}", env["LOG_ID_SALT"])
    assert re.fullmatch(r"[0-9a-f]{64}", env["CONVERSATION_ID_SECRET"])

    units = root / "etc" / "systemd" / "system"
    for unit in UNITS.iterdir():
        installed = (units / unit.name).read_text()
        assert mode(units / unit.name) == 0o644
        assert UNIT_INSTALL_DIR not in installed
        if unit.suffix == ".service":
            settings = unit_settings(installed)
            assert settings["WorkingDirectory"] == ["/srv/clinic"]
            assert settings["ReadWritePaths"] == ["/srv/clinic/var"]
            assert settings["User"] == [SERVICE_USER]
    rotation = (root / "etc" / "logrotate.d" / "clinic-assistant").read_text()
    assert (
        "\n/srv/clinic/var/logs/*.log {" in rotation
        and mode(root / "etc" / "logrotate.d" / "clinic-assistant") == 0o644
    )

    # Into a folder it creates no user and starts nothing: it says what it would run.
    assert (
        "would run: useradd --system --user-group --no-create-home --home-dir "
        f"/srv/clinic/var --shell /usr/sbin/nologin {SERVICE_USER}"
    ) in output
    assert f"would run: chown -R {SERVICE_USER}:{SERVICE_USER} /srv/clinic/var" in output
    assert "would run: systemctl enable clinic-assistant.target" in output
    assert "\n+ " not in output


def test_a_reinstall_keeps_var_and_the_env_files_secrets_and_drops_old_code(root: Path) -> None:
    install(root)
    home = root / "srv" / "clinic"
    env_file = root / "etc" / "clinic-assistant" / "env"
    secrets = env_file.read_text()
    (home / "var" / "conversations.db").write_text("kept")
    (home / "scripts" / "removed_since.py").write_text("old")
    output = install(root)
    assert "exists: left as it is" in output and env_file.read_text() == secrets
    assert (home / "var" / "conversations.db").read_text() == "kept"
    assert not (home / "scripts" / "removed_since.py").exists()


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_installed_units(root: Path) -> None:
    install(root)
    # Pointed at the folder they were installed into, so systemd also finds each ExecStart.
    checked = root / "checked"
    checked.mkdir()
    for unit in (root / "etc" / "systemd" / "system").iterdir():
        (checked / unit.name).write_text(
            unit.read_text().replace("/srv/clinic", str(root / "srv" / "clinic"))
        )
    files = sorted(str(p) for p in checked.iterdir())
    verified = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *files], capture_output=True, text=True
    )
    assert verified.returncode == 0 and verified.stderr == "" and verified.stdout == "", (
        verified.stdout + verified.stderr
    )


def test_make_install_service_passes_the_install_folder_and_destdir() -> None:
    dry = subprocess.run(
        [
            "make",
            "-n",
            "--no-print-directory",
            "install-service",
            "DESTDIR=/tmp/root",
            "INSTALL_DIR=/srv/x",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (
        dry.splitlines()[-1]
        == '.venv/bin/python -m scripts.ops.install_service --install-dir "/srv/x" --root "/tmp/root"'
    )


def test_the_install_never_replaces_the_project_or_a_folder_it_did_not_install(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="holds the project"):
        copy_project(PROJECT_ROOT, PROJECT_ROOT)
    (tmp_path / "somebody_elses.txt").write_text("keep me")
    with pytest.raises(ValueError, match="holds no earlier install"):
        copy_project(PROJECT_ROOT, tmp_path)
    assert (tmp_path / "somebody_elses.txt").exists()


def test_a_python_inside_a_home_folder_is_refused_as_the_services_cannot_see_it(
    tmp_path: Path,
) -> None:
    assert "ProtectHome" in home_folder_problem(Path("/root/.pyenv/versions/3.10.13/bin/python"))
    assert "ProtectHome" in home_folder_problem(Path("/home/dana/.venv/bin/python"))
    assert home_folder_problem(Path("/usr/bin/python3")) is None


SANDBOX = """set -e
# The units' view of the disk: the install folder, the venv, the model and Python read-only
# (ProtectSystem=strict), var/ writable (ReadWritePaths), HOME in var/ (the user's home).
mount -t tmpfs none {parent}
mkdir -p {install_dir}
mount --bind {installed} {install_dir}
mount -o remount,bind,ro {install_dir}
mount --bind {installed}/var {install_dir}/var
for shared in {read_only}; do mount --bind "$shared" "$shared"; mount -o remount,bind,ro "$shared"; done
cd {install_dir}
set -a; . {env_file}; set +a
export HOME={install_dir}/var
for process in {processes}; do
  .venv/bin/python -m scripts.ops.serve_one $process > {journal}/$process.log 2>&1 &
done
trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT  # the processes never outlive the test
for second in $(seq 1 120); do
  curl -s -o /dev/null -w '%{{http_code}}' localhost:{rasa_port}/webhooks/rest/ | grep -q 200 && break
  sleep 1
done
curl -s -X POST localhost:{rasa_port}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
  -d '{{"message": "does it hurt?"}}' > {journal}/reply.json
for url in localhost:{web_port}/ localhost:{inbox_port}/login localhost:{alert_port}/health; do
  curl -s -o /dev/null -w "$url %{{http_code}}\\n" --retry 30 --retry-connrefused --retry-delay 1 \\
    $url >> {journal}/answers.txt || echo "$url none" >> {journal}/answers.txt
done
"""


@pytest.mark.skipif(
    shutil.which("unshare") is None
    or subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0",
    reason="needs root and unshare(1) for a private mount namespace",
)
def test_the_installed_processes_answer_from_a_read_only_install_writing_only_var(
    root: Path,
) -> None:
    """Without systemd here, a mount namespace stands in for the units' sandbox: each unit's
    command starts its process from the installed copy, and nothing but var/ is written."""
    install(root, "/opt/clinic-assistant")
    installed = root / "opt" / "clinic-assistant"
    env_file = root / "etc" / "clinic-assistant" / "env"
    ports = {
        "rasa_port": processes.free_port(),
        "web_port": processes.free_port(),
        "inbox_port": processes.free_port(),
        "alert_port": processes.free_port(),
    }
    with env_file.open("a") as env:
        env.write(
            f"RASA_PORT={ports['rasa_port']}\nACTION_PORT={processes.free_port()}\n"
            f"WEB_PORT={ports['web_port']}\nSTAFF_INBOX_PORT={ports['inbox_port']}\n"
            f"ALERT_SENDER_PORT={ports['alert_port']}\n"
        )
    journal = root / "journal"
    journal.mkdir()
    read_only = {str(Path(sys.base_prefix).resolve())}
    read_only |= {
        str((PROJECT_ROOT / name).resolve()) for name in (".venv", "models", "web/node_modules")
    }
    script = root / "sandbox.sh"
    script.write_text(
        SANDBOX.format(
            parent="/opt",
            install_dir="/opt/clinic-assistant",
            installed=installed,
            read_only=" ".join(sorted(read_only)),
            env_file=env_file,
            journal=journal,
            processes=" ".join(PROCESS_LOGS),
            **ports,
        )
    )
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "bash", str(script)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    logs = "\n".join(
        f"{log}: {log.read_text()[-2000:]}"
        for folder in (journal, installed / "var" / "logs")
        for log in sorted(folder.glob("*.log"))
    )
    assert done.returncode == 0, f"{done.stdout}{done.stderr}\n{logs}"
    for process in PROCESS_LOGS:
        assert (journal / f"{process}.log").read_text() == "", process  # nothing before exec
    reply = (journal / "reply.json").read_text()
    assert "virtual assistant" in reply, reply
    answers = (journal / "answers.txt").read_text().split()
    assert answers[1::2] == ["200", "200", "200"], answers
    written = {p.name for p in (installed / "var").iterdir()}
    assert {"conversations.db", "credentials.yml", "logs"} <= written
    # The secrets come from the env file: none made in var/.
    assert not written & {"log_id_salt", "conversation_id_secret"}
    assert {p.name for p in (installed / "var" / "logs").iterdir()} == {
        log for log in PROCESS_LOGS.values()
    }
    assert all(mode(p) == 0o600 for p in (installed / "var" / "logs").iterdir())
