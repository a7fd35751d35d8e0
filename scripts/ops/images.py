"""The container images of deploy/docker/, built with podman from a base this project makes.

    python -m scripts.ops.images base      Debian 12 by debootstrap, this machine's CPython 3.10
                                       in /usr/local, imported as BASE_TAG
    python -m scripts.ops.images build     the base if missing, then the assistant's and the page's
                                       images (ASSISTANT_TAG, PAGE_TAG) from the Dockerfiles

No registry is reachable from these machines, so Docker's python:3.10-slim-bookworm cannot be
pulled; Debian's archive and PyPI can be. The base has the same layout as Docker's image
(Debian 12, CPython under /usr/local, `python` and `pip` on the PATH), so the Dockerfiles
build on either: BASE_IMAGE picks one. Debian 12 ships Python 3.11, which Rasa 3.6 does not
support, hence the interpreter the tests run with (pyenv's build, GUIDE.md) copied in.
"""

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence

from scripts.ops.settings import PROJECT_ROOT

BASE_TAG = "localhost/clinic-python:3.10-bookworm"
ASSISTANT_TAG = "localhost/clinic-assistant:latest"
PAGE_TAG = "localhost/clinic-page:latest"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# What CPython's own modules link against (ssl, sqlite3, ctypes, lzma, bz2, readline, curses,
# uuid, dbm, expat) and what the wheels expect of a Debian system (libstdc++ for TensorFlow,
# libgomp for scikit-learn); tzdata for the time zone of the opening hours.
BASE_PACKAGES = (
    "ca-certificates",
    "libssl3",
    "libsqlite3-0",
    "libffi8",
    "libbz2-1.0",
    "liblzma5",
    "libreadline8",
    "zlib1g",
    "libncursesw6",
    "libuuid1",
    "libgdbm6",
    "libexpat1",
    "libstdc++6",
    "libgomp1",
    "tzdata",
    "netbase",
)
# Security and point-release updates on top of the release debootstrap installs.
SOURCES = (
    f"deb {MIRROR} {SUITE} main\n"
    f"deb {MIRROR} {SUITE}-updates main\n"
    f"deb http://deb.debian.org/debian-security {SUITE}-security main\n"
)
# The sandbox's own start-up hook (it trusts this machine's egress proxy) stays out of images.
NOT_COPIED = ("_sandboxing_egress_ca.pth",)
HOST_CA_BUNDLE = Path(os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"))
BUILD_CA_PATH = "/etc/ssl/build-ca.pem"
# Podman's default limits (nproc 1048576 and the like) are above what a process may set on
# some hosts (these machines: runc fails with "error setting rlimit type 6"); these are
# below any host's and far above what a server here opens.
LIMITS = ("--ulimit", "nofile=16384:16384", "--ulimit", "nproc=16384:16384")


class ImageError(RuntimeError):
    """A step of the build failed; the message says which."""


def run(argv: Sequence[str], **kwargs: object) -> None:
    print("+", " ".join(argv), flush=True)
    if subprocess.run(list(argv), **kwargs).returncode != 0:  # type: ignore[call-overload]
        raise ImageError(f"failed: {' '.join(argv)}")


def podman(*args: str) -> List[str]:
    return ["podman", *args]


def image_exists(tag: str) -> bool:
    return subprocess.run(podman("image", "exists", tag)).returncode == 0


def python_prefix() -> Path:
    """The prefix of the CPython 3.10 this project runs on (the virtual environment's base)."""
    prefix = Path(sys.base_prefix)
    if sys.version_info[:2] != (3, 10) or not (prefix / "bin" / "python3.10").is_file():
        raise ImageError(f"run with the project's Python 3.10 (.venv), not {sys.executable}")
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        raise ImageError("this CPython has no shared libpython; the copy expects one")
    return prefix


def copy_python(prefix: Path, root: Path) -> None:
    """CPython into the tree's /usr/local, as Docker's python image has it."""
    local = root / "usr" / "local"
    ignore = shutil.ignore_patterns(*NOT_COPIED, "__pycache__", "test", "idle_test")
    for part in ("bin", "include", "lib", "share"):
        if (prefix / part).is_dir():
            shutil.copytree(
                prefix / part, local / part, symlinks=True, dirs_exist_ok=True, ignore=ignore
            )
    bin_dir = local / "bin"
    # Scripts installed by pip name the old prefix in their first line: call the modules.
    for name in (
        "pip",
        "pip3",
        "pip3.10",
        "idle3",
        "idle3.10",
        "pydoc3",
        "pydoc3.10",
        "2to3",
        "2to3-3.10",
        "python3.10-config",
        "python3-config",
    ):
        (bin_dir / name).unlink(missing_ok=True)
    for name in ("pip", "pip3"):
        wrapper = bin_dir / name
        wrapper.write_text('#!/bin/sh\nexec /usr/local/bin/python3.10 -m pip "$@"\n')
        wrapper.chmod(0o755)
    for name in ("python", "python3"):
        link = bin_dir / name
        link.unlink(missing_ok=True)
        link.symlink_to("python3.10")


def make_tree(root: Path, prefix: Path) -> None:
    run(
        [
            "debootstrap",
            "--variant=minbase",
            "--include=" + ",".join(BASE_PACKAGES),
            SUITE,
            str(root),
            MIRROR,
        ]
    )
    (root / "etc" / "apt" / "sources.list").write_text(SOURCES)
    # The chroot resolves names with the host's resolver for the update only.
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    run(["chroot", str(root), "apt-get", "update", "-qq"])
    run(
        [
            "chroot",
            str(root),
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "upgrade",
            "-y",
            "-qq",
        ]
    )
    run(["chroot", str(root), "apt-get", "clean"])
    for leftover in ("var/lib/apt/lists", "var/cache/apt/archives", "var/log"):
        for path in (root / leftover).glob("*"):
            if path.is_file():
                path.unlink()
    (root / "etc" / "resolv.conf").write_text("")
    copy_python(prefix, root)
    run(["chroot", str(root), "ldconfig"])
    # The interpreter and the modules that need a system library all load in the tree.
    run(
        [
            "chroot",
            str(root),
            "/usr/local/bin/python",
            "-c",
            "import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, readline, pip; print(ssl.OPENSSL_VERSION)",
        ]
    )


def build_base(work: Optional[Path] = None) -> None:
    prefix = python_prefix()
    with tempfile.TemporaryDirectory(prefix="clinic-base-", dir=work) as folder:
        root = Path(folder) / "rootfs"
        make_tree(root, prefix)
        tar = subprocess.Popen(
            ["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
        )
        run(
            podman(
                "import",
                "--change",
                "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                "ENV LANG=C.UTF-8",
                "--change",
                'CMD ["python3"]',
                "-",
                BASE_TAG,
            ),
            stdin=tar.stdout,
        )
        if tar.wait() != 0:
            raise ImageError("tar of the tree failed")


def build_arguments() -> List[str]:
    """The base, and the host's CA bundle when there is one (a proxy that inspects TLS)."""
    args = [*LIMITS, "--build-arg", f"BASE_IMAGE={BASE_TAG}"]
    if HOST_CA_BUNDLE.is_file():
        args += [
            "--volume",
            f"{HOST_CA_BUNDLE}:{BUILD_CA_PATH}:ro",
            "--build-arg",
            f"PIP_CERT={BUILD_CA_PATH}",
        ]
    return args


def build_images() -> None:
    if not (PROJECT_ROOT / "web" / "node_modules" / "rasa-webchat" / "lib" / "index.js").is_file():
        raise ImageError("the widget bundle is missing: run `make web` first")
    if not image_exists(BASE_TAG):
        build_base()
    for dockerfile, tag in (
        ("deploy/docker/Dockerfile", ASSISTANT_TAG),
        ("deploy/docker/page.Dockerfile", PAGE_TAG),
    ):
        # Docker's image format: the OCI one has no HEALTHCHECK, and podman would drop it.
        run(
            podman(
                "build",
                "--format",
                "docker",
                *build_arguments(),
                "--file",
                dockerfile,
                "--tag",
                tag,
                ".",
            ),
            cwd=PROJECT_ROOT,
        )


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("base", "build"))
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("debootstrap and a rootful podman need root")
    try:
        build_base() if args.step == "base" else build_images()
    except ImageError as problem:
        sys.exit(f"Cannot build the images: {problem}")


if __name__ == "__main__":
    main()
