"""A fresh Debian 12 machine: the README's main job, `bash scripts/smoke`, installs and runs there.

The machine is a container of the debootstrap bookworm base the images start from, so Python is
bookworm's own 3.11.2, installed by scripts/setup itself with apt (the path a fresh machine
takes), and constraints.txt must resolve on it. What it holds besides Debian: ca-certificates and
this host's extra CA certificates, which any machine behind this network's TLS proxy has. The
checkout goes in as the working tree would be committed (tracked and untracked files, not what
.gitignore leaves out: no .venv, no reports).

The assertion is that the install succeeded and the smoke ran to its verdict and wrote its
report: exit 0 (every SLO met) or 1 (an SLO missed). A p99 miss on a busy CI machine is a
verdict, not a broken install, so it does not fail this test; anything else (exit 2, a pip
error, no summary.json) does.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from hive_resilience.infra import images
from hive_resilience.loadrun.summary import SUMMARY_FILE, read_summary
from hive_resilience.paths import REPO_ROOT

SMOKE_DURATION = "30s"
RUN_TIMEOUT_S = 1500
"""apt (about 1 minute), pip install of the embedded extra (2-3), Hive's start and the smoke (about 2)."""
CHECKOUT_IN_CONTAINER = "/root/hive-resilience"
MACHINE_SCRIPT = f"""set -eu
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null
update-ca-certificates >/dev/null
mkdir -p {CHECKOUT_IN_CONTAINER}
tar -x -f /checkout.tar -C {CHECKOUT_IN_CONTAINER}
cd {CHECKOUT_IN_CONTAINER}
! command -v python3 || {{ echo "the base already has a python3: not a fresh machine" >&2; exit 3; }}
status=0
bash scripts/smoke --duration {SMOKE_DURATION} || status=$?
echo "python: $(.venv/bin/python -c 'import platform; print(platform.python_version())' 2>&1)"
exit $status
"""
SETUP_FAILED_EXIT = 3
"""What the script exits with when it finds Python before setup installed it (the base changed)."""


def checkout_archive() -> bytes:
    """The working tree as `git add -A` would commit it, as a tar (what `git ls-files` lists and exists)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in sorted(set(listed)):
            if name and (REPO_ROOT / name).is_file():
                archive.add(REPO_ROOT / name, arcname=name, recursive=False)
    return buffer.getvalue()


@pytest.mark.timeout(RUN_TIMEOUT_S + 300)
def test_the_smoke_installs_and_runs_to_its_verdict_on_a_fresh_debian_12(tmp_path: Path):
    try:
        base = images.ensure_debian_base(tmp_path / "image-logs", progress=lambda line: None)
    except images.ImageError as error:
        pytest.fail(f"the fresh-machine test needs the Debian base image: {error}", pytrace=False)
    (tmp_path / "checkout.tar").write_bytes(checkout_archive())
    reports = tmp_path / "reports"
    reports.mkdir()
    certificates = "/etc/ssl/certs/ca-certificates.crt"
    command = [
        "docker", "run", "--rm", "--network", "host",
        "-e", f"PIP_CERT={certificates}", "-e", f"SSL_CERT_FILE={certificates}",
        "-e", f"REQUESTS_CA_BUNDLE={certificates}", "-e", "PIP_DISABLE_PIP_VERSION_CHECK=1",
        "-v", f"{tmp_path / 'checkout.tar'}:/checkout.tar:ro",
        "-v", f"{images.EXTRA_CA_DIR}:/usr/local/share/ca-certificates:ro",
        "-v", f"{reports}:{CHECKOUT_IN_CONTAINER}/reports",
        base, "bash", "-c", MACHINE_SCRIPT,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    output = done.stdout + done.stderr
    (tmp_path / "machine.log").write_text(output)
    tail = "\n".join(output.splitlines()[-40:])

    assert done.returncode != SETUP_FAILED_EXIT, tail
    assert done.returncode in (0, 1), f"the smoke did not reach its verdict (exit {done.returncode}):\n{tail}"
    assert "python: 3.11.2" in output, tail
    assert "RESULT: PASS" in output or "RESULT: FAIL" in output, tail
    (summary_path,) = reports.glob(f"*-smoke/{SUMMARY_FILE}")
    summary = read_summary(summary_path)
    assert summary.passed == (done.returncode == 0)
