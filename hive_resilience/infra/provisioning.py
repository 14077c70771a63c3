"""What the machine must provide for a pytest selection, decided from the tests pytest would run.

``scripts/setup --for-pytest ARGS`` asks this before it provisions anything heavy, so that the
fast unit tests do not wait ten minutes for a Kubernetes build they never use. The decision is
made from a ``--collect-only`` pass with the very arguments the run gets, so marker expressions
(``-m``), keywords (``-k``), paths and node ids select exactly as in the run, and markers that
conftest files add (every test under integration/ is ``integration``) count too. A test needs:

- ``docker`` and ``images``: it is marked ``integration``, or ``cluster`` without ``kubectl``
  (the cluster loads the images into its containerd);
- ``cluster``: it is marked ``cluster`` without ``kubectl`` (scripts/cluster-setup);
- ``kubectl`` only: it is marked ``kubectl`` (renders manifests with ``kubectl kustomize``; a
  fresh machine has none, so scripts/cluster-setup builds it). Such tests are marked
  ``cluster`` too, because building kubectl is building Kubernetes: the unit run
  (``-m "not embedded and not integration and not cluster"``) builds nothing;
- ``chromium``: it uses pytest-playwright's ``browser`` fixture (directly or through ``page``);
- ``nftables``: its module uses hive_resilience.target.netfaults (packet loss, partitions);
- ``prometheus``: it is marked ``prometheus`` (runs Debian's prometheus or promtool).

Run as ``python -m hive_resilience.infra.provisioning PYTEST_ARGS...``: prints the needs,
comma-separated, on one line (empty when the selection needs nothing). When collection fails
(a typo in a path, an import error) it provides nothing: the run stops there too and says why.
Needs pytest, so the ``test`` extra.
"""

from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass

import pytest

from hive_resilience.target import netfaults

NEEDS = ("nftables", "prometheus", "chromium", "kubectl", "docker", "images", "cluster")
"""Every machine part scripts/setup can provide, in the order it provides them."""


@dataclass(frozen=True)
class CollectedTest:
    """What the decision reads from one collected test."""

    markers: frozenset[str]
    fixtures: frozenset[str]
    uses_netfaults: bool


def needs_of(test: CollectedTest) -> set[str]:
    """The machine parts one test needs (see the module docstring for the rule)."""
    needs = set()
    if "integration" in test.markers:
        needs |= {"docker", "images"}
    if "kubectl" in test.markers:
        # Marked ``cluster`` too (it needs the Kubernetes build), but only its kubectl.
        needs.add("kubectl")
    elif "cluster" in test.markers:
        needs |= {"docker", "images", "cluster"}
    if "browser" in test.fixtures:
        needs.add("chromium")
    if test.uses_netfaults:
        needs.add("nftables")
    if "prometheus" in test.markers:
        needs.add("prometheus")
    return needs


def selection_needs(tests: list[CollectedTest]) -> list[str]:
    """The union of the tests' needs, in NEEDS order."""
    needed = set().union(*(needs_of(test) for test in tests))
    return [need for need in NEEDS if need in needed]


class _Recorder:
    """A pytest plugin keeping what the decision needs from the tests left after deselection."""

    def __init__(self) -> None:
        self.tests: list[CollectedTest] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            module = getattr(item, "module", None)
            self.tests.append(CollectedTest(
                markers=frozenset(marker.name for marker in item.iter_markers()),
                fixtures=frozenset(getattr(item, "fixturenames", ())),
                uses_netfaults=any(value is netfaults for value in vars(module).values()) if module else False,
            ))


def collect(pytest_args: list[str]) -> tuple[list[CollectedTest], int, str]:
    """The tests pytest would run with these arguments, its exit code and its (silenced) output."""
    recorder = _Recorder()
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exit_code = pytest.main(["--collect-only", "-q", *pytest_args], plugins=[recorder])
    return recorder.tests, exit_code, output.getvalue()


def main(argv: list[str] | None = None) -> int:
    tests, exit_code, _ = collect(sys.argv[1:] if argv is None else argv)
    if exit_code in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        print(",".join(selection_needs(tests)))
    else:
        # The run would stop at the same point, so nothing is provisioned for it.
        print(f"provisioning: pytest could not collect these tests (exit {int(exit_code)}); providing nothing, "
              "the run says why", file=sys.stderr)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
