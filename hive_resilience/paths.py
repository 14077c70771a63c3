"""Where the checkout's own folders are: the one definition of the repository root.

The suite runs from an editable install, so the scenarios, the locustfile, the images'
Dockerfiles and the Kubernetes manifests are found next to the package, not in site-packages.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LOAD_DIR = REPO_ROOT / "load"
"""The suite's locustfile folder: ``locust -f load/`` and every run the suite starts use it."""
