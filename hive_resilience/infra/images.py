"""The container images of the target and the load generator, built offline, tagged by the hash of their inputs.

Five Dockerfiles in ``integration/images`` stack up: ``python`` (Python, the host's extra CA
certificates, the ``hive`` user) on a base image, ``runtime`` (the pinned Hive and aden-tools)
and three thin images, ``hive``, ``tools`` and ``llm-stub``, that add this package's code and
an entry point. A sixth, ``locust``, is the load generator deploy/k8s runs (its Dockerfile lives
there) on the ``python`` image, with the suite's base install only. Each tag is the hash of
everything that goes into the image (Dockerfile, build arguments, context files, parent tag), so
an image is rebuilt only when one of those changed and a changed input can never be served by a
stale image.

The base is ``python:3.11-slim`` where a registry is reachable. Where none is (this project's
CI), it is Debian bookworm made with ``debootstrap --variant=minbase`` and ``docker import``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hive_resilience.paths import REPO_ROOT

IMAGES_DIR = REPO_ROOT / "integration" / "images"
IMAGE_PREFIX = "hive-resilience"
DEBIAN_BASE = f"{IMAGE_PREFIX}/debian-base:bookworm-minbase"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")
BASE_IMAGE_VARIABLE = "HIVE_RESILIENCE_BASE_IMAGE"
"""Set to ``python:3.11-slim`` (or any image with Debian's apt) to skip debootstrap."""


class ImageError(RuntimeError):
    """An image cannot be built; the message says what to install or read."""


@dataclass(frozen=True)
class ImageSpec:
    """One image: its Dockerfile, the image it builds on, and the files its context holds."""

    name: str
    parent: str
    """``base`` or the name of another spec; passed as the build argument ``parent_argument``."""
    parent_argument: str
    context: tuple[str, ...]
    """Paths relative to the repository root, copied into the build context under their names."""
    dockerfile: str | None = None
    """Its Dockerfile relative to the repository root, when not ``integration/images/<name>.Dockerfile``."""

    @property
    def dockerfile_path(self) -> Path:
        return REPO_ROOT / self.dockerfile if self.dockerfile else IMAGES_DIR / f"{self.name}.Dockerfile"


SPECS: tuple[ImageSpec, ...] = (
    ImageSpec("python", "base", "BASE_IMAGE", ()),
    ImageSpec("runtime", "python", "PYTHON_IMAGE", ("constraints.txt",)),
    ImageSpec("hive", "runtime", "RUNTIME_IMAGE", ("hive_resilience",)),
    ImageSpec("tools", "runtime", "RUNTIME_IMAGE", ("hive_resilience",)),
    ImageSpec("llm-stub", "runtime", "RUNTIME_IMAGE", ("hive_resilience",)),
    ImageSpec("locust", "python", "PYTHON_IMAGE",
              ("pyproject.toml", "constraints.txt", "README.md", "hive_resilience", "load", "scenarios"),
              "deploy/k8s/Dockerfile"),
)
TARGET_IMAGES = ("hive", "tools", "llm-stub")
CLUSTER_IMAGES = (*TARGET_IMAGES, "locust")
"""Imported into the cluster: the target deploy/hive runs and the Locust image deploy/k8s runs."""


def docker(*arguments: str, check: bool = True, timeout_s: float = 120) -> subprocess.CompletedProcess:
    """Run the docker client; a missing client or engine becomes an ImageError saying what to do."""
    if shutil.which("docker") is None:
        raise ImageError("the docker client is not installed: run `bash scripts/docker-engine` (installs Debian's docker.io)")
    done = subprocess.run(["docker", *arguments], capture_output=True, text=True, timeout=timeout_s)
    if check and done.returncode != 0:
        raise ImageError(f"docker {' '.join(arguments[:2])} failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    return done


def require_engine() -> None:
    """Fail with one line unless a Docker engine answers."""
    if docker("version", "--format", "{{.Server.Version}}", check=False, timeout_s=20).returncode != 0:
        raise ImageError("no Docker engine answers: run `bash scripts/docker-engine` (installs docker.io, starts dockerd)")


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def base_image() -> str:
    return os.environ.get(BASE_IMAGE_VARIABLE) or DEBIAN_BASE


def pinned_versions() -> dict[str, str]:
    """The Hive and aden-tools versions pyproject.toml pins in its `embedded` extra (the only place they are pinned)."""
    dependencies = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["embedded"]
    versions = {}
    for package, argument in (("aden-hive", "HIVE_VERSION"), ("aden-tools", "TOOLS_VERSION")):
        pin = next((d for d in dependencies if re.match(rf"{package}(\[|=)", d)), None)
        if pin is None or "==" not in pin:
            raise ImageError(f"pyproject.toml must pin {package} with ==")
        versions[argument] = pin.split("==")[1].strip()
    return versions


def _context_files(spec: ImageSpec) -> list[tuple[str, bytes]]:
    """(name in the build context, content) of every file the image's context holds."""
    files = []
    for entry in spec.context:
        path = REPO_ROOT / entry
        if path.is_dir():
            files += [(str(f.relative_to(REPO_ROOT)), f.read_bytes()) for f in sorted(path.rglob("*"))
                      if f.is_file() and "__pycache__" not in f.parts]
        else:
            files.append((entry, path.read_bytes()))
    if spec.name == "python":
        files += [(f"extra-ca-certificates/{f.name}", f.read_bytes()) for f in sorted(EXTRA_CA_DIR.glob("*.crt"))]
    return files


def _build_arguments(spec: ImageSpec, tags: dict[str, str]) -> dict[str, str]:
    parent = base_image() if spec.parent == "base" else tags[spec.parent]
    arguments = {spec.parent_argument: parent}
    if spec.name == "runtime":
        arguments.update(pinned_versions())
    return arguments


def image_tags() -> dict[str, str]:
    """Every image's tag, from the hash of its inputs; nothing is built."""
    tags: dict[str, str] = {}
    for spec in SPECS:
        digest = hashlib.sha256()
        digest.update(spec.dockerfile_path.read_bytes())
        digest.update(json.dumps(_build_arguments(spec, tags), sort_keys=True).encode())
        for name, content in _context_files(spec):
            digest.update(name.encode() + b"\0" + content + b"\0")
        tags[spec.name] = f"{IMAGE_PREFIX}/{spec.name}:{digest.hexdigest()[:16]}"
    return tags


def build_images(log_dir: Path, progress=print) -> dict[str, str]:
    """Build what is missing (base first), reuse the rest; returns every image's tag.

    Each built image is also tagged ``:latest`` for hand use and for cluster manifests.
    """
    require_engine()
    log_dir.mkdir(parents=True, exist_ok=True)
    if base_image() == DEBIAN_BASE:
        ensure_debian_base(log_dir, progress)
    tags = image_tags()
    for spec in SPECS:
        tag = tags[spec.name]
        if image_exists(tag):
            progress(f"{tag}: up to date")
        else:
            _build(spec, tag, _build_arguments(spec, tags), log_dir / f"{spec.name}.log", progress)
        docker("tag", tag, f"{IMAGE_PREFIX}/{spec.name}:latest")
    return tags


def ensure_debian_base(log_dir: Path, progress=print) -> str:
    """The Debian bookworm minbase image (made with debootstrap when missing); returns its tag.

    Also what the fresh-machine test starts from: bookworm as debootstrap leaves it, no Python.
    """
    require_engine()
    log_dir.mkdir(parents=True, exist_ok=True)
    if not image_exists(DEBIAN_BASE):
        _build_debian_base(log_dir / "debian-base.log", progress)
    return DEBIAN_BASE


def _build(spec: ImageSpec, tag: str, arguments: dict[str, str], log_path: Path, progress) -> None:
    started = time.monotonic()
    progress(f"{tag}: building ({spec.dockerfile_path.relative_to(REPO_ROOT)})")
    with tempfile.TemporaryDirectory(prefix=f"hive-resilience-{spec.name}-") as context:
        context_dir = Path(context)
        (context_dir / "extra-ca-certificates").mkdir()
        for name, content in _context_files(spec):
            (context_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (context_dir / name).write_bytes(content)
        command = ["build", "--network", "host", "--force-rm", "-f", str(spec.dockerfile_path), "-t", tag]
        for key, value in arguments.items():
            command += ["--build-arg", f"{key}={value}"]
        with open(log_path, "w") as log:
            done = subprocess.run(["docker", *command, str(context_dir)], stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    if done.returncode != 0:
        raise ImageError(f"building {tag} failed (exit {done.returncode}); see {log_path}")
    progress(f"{tag}: built in {time.monotonic() - started:.0f} s")


def _build_debian_base(log_path: Path, progress) -> None:
    """Debian bookworm minbase from the Debian mirror, imported as an image (needs root)."""
    if shutil.which("debootstrap") is None:
        raise ImageError(f"no registry base image: install Debian's debootstrap, or set {BASE_IMAGE_VARIABLE}=python:3.11-slim")
    if os.geteuid() != 0:
        raise ImageError(f"building the Debian base needs root (debootstrap), or set {BASE_IMAGE_VARIABLE}=python:3.11-slim")
    started = time.monotonic()
    progress(f"{DEBIAN_BASE}: debootstrap bookworm (about 30 s)")
    with tempfile.TemporaryDirectory(prefix="hive-resilience-rootfs-") as rootfs, open(log_path, "w") as log:
        steps = [
            ["debootstrap", "--variant=minbase", "bookworm", rootfs, DEBIAN_MIRROR],
            ["sh", "-c", f"cd {rootfs} && rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* usr/share/doc "
                         "usr/share/man usr/share/locale usr/share/info"],
            ["sh", "-c", f"tar --numeric-owner -C {rootfs} -c . | docker import -c 'ENV LANG=C.UTF-8' - {DEBIAN_BASE}"],
        ]
        for step in steps:
            if subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, timeout=900).returncode != 0:
                raise ImageError(f"building {DEBIAN_BASE} failed at `{step[0]}`; see {log_path}")
    progress(f"{DEBIAN_BASE}: made in {time.monotonic() - started:.0f} s")
