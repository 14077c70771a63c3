"""``hive-resilience cleanup``: undo every fault a killed run can leave on this machine.

A chaos run or a load run killed with SIGKILL runs no rollback, no control and no ``finally``:
its faults stay. This finds what the suite can leave and undoes it, in this order:

- stray Locust processes: every Locust the suite starts carries
  :data:`~hive_resilience.loadrun.locust_process.OWNER_VARIABLE`; one whose owner is gone is
  ended with its process group (its load would otherwise keep hitting the target);
- the faults on every embedded target that still runs (state files in ``reports/target``,
  ``$HIVE_RESILIENCE_TARGET_DIR``, ``reports/*/`` or the folders given): the fault registry's
  sweep, which knows every local fault kind (nftables table, frozen or killed components, the
  LLM stub's and the fault proxy's faults);
- the nftables table, when no running target was swept;
- Chaos Mesh objects carrying the suite's label, when a kubeconfig is configured and the
  cluster answers.

It is idempotent and says what it undid; it fails only when something is still in place or
could not be checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from hive_resilience.loadrun.locust_process import OWNER_VARIABLE
from hive_resilience.processes import (
    ComponentProcess,
    identified_process_runs,
    kill_processes,
    process_tree,
)
from hive_resilience.target import netfaults
from hive_resilience.target.embedded import STATE_FILE, EmbeddedTarget
from hive_resilience.target.fault_registry import FAULTS

TARGET_DIR_VARIABLE = "HIVE_RESILIENCE_TARGET_DIR"
"""Where the local chaos experiments look for their target (their ``target_dir`` configuration)."""
SUITE_LABEL = ("app.kubernetes.io/managed-by", "hive-resilience")
"""On every Chaos Mesh object the suite's k8s experiments create (:mod:`hive_resilience.chaos.k8s`)."""
SUITE_LABEL_SELECTOR = "=".join(SUITE_LABEL)
CHAOS_MESH_RESOURCES = tuple(f"{plural}.chaos-mesh.org" for plural in (
    "networkchaos", "stresschaos", "podchaos", "iochaos", "timechaos", "httpchaos", "dnschaos", "jvmchaos",
    "kernelchaos"))
"""The Chaos Mesh fault kinds cleanup looks through for the suite's objects."""
KUBECTL_TIMEOUT_S = 5.0
UNREACHABLE_SIGNS = ("Unable to connect to the server", "connection refused", "dial tcp", "i/o timeout",
                     "no such host")
"""What kubectl says when the cluster does not answer, rather than refuse."""


@dataclass
class CleanupReport:
    """What cleanup did: each list holds one line per item, for the operator."""

    undone: list[str] = field(default_factory=list)
    """Faults and processes that were left behind and are gone now."""
    problems: list[str] = field(default_factory=list)
    """What is still in place or could not be checked: the machine is not known to be clean."""
    skipped: list[str] = field(default_factory=list)
    """Parts that do not apply here (no kubeconfig, no nftables), one line each."""

    @property
    def clean(self) -> bool:
        return not self.problems


def cleanup(reports_dir: Path, target_dirs: Iterable[Path] = ()) -> CleanupReport:
    """Undo what killed runs left: stray Locusts, the faults of running targets, nftables, Chaos Mesh."""
    report = CleanupReport()
    report.undone += end_stray_locusts()
    swept_a_target = False
    for target in running_targets(reports_dir, target_dirs, report):
        swept_a_target = True
        for kind in FAULTS.sweep(target):
            report.undone += [f"{item} (target {target.run_dir})" for item in kind.undone]
            report.problems += [f"{kind.kind} at {item} (target {target.run_dir})"
                                for item in kind.remaining + kind.unchecked]
    if not swept_a_target:
        _clear_network_faults(report)
    _delete_chaos_mesh_objects(report)
    return report


def end_stray_locusts() -> list[str]:
    """End every Locust the suite started whose starting process is gone; one line per Locust ended."""
    ended = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if "locust" not in " ".join(process.info["cmdline"] or []):
            continue
        try:
            owner = process.environ().get(OWNER_VARIABLE)
            if owner is None or identified_process_runs(owner):
                continue
            leads_its_group = os.getpgid(process.pid) == process.pid
            recorded = ComponentProcess(process.pid, process.create_time(), [], "")
        except (psutil.Error, ProcessLookupError):
            continue
        members = recorded.group_members() if leads_its_group else process_tree(process)
        kill_processes(members)
        ended.append(f"ended stray Locust pid {process.pid} (its starter, pid {owner.partition(':')[0]}, is gone)")
    return ended


def running_targets(reports_dir: Path, target_dirs: Iterable[Path], report: CleanupReport) -> list[EmbeddedTarget]:
    """The embedded targets with at least one component still running, from their state files;
    an unreadable state file is one of ``report``'s problems.

    A target whose processes are all gone has no fault to undo, and sweeping it would start it.
    """
    candidates = [*target_dirs, reports_dir / "target", *(path.parent for path in reports_dir.glob(f"*/{STATE_FILE}"))]
    if os.environ.get(TARGET_DIR_VARIABLE):
        candidates.append(Path(os.environ[TARGET_DIR_VARIABLE]))
    seen: set[Path] = set()
    found = []
    for run_dir in candidates:
        resolved = run_dir.resolve()
        if resolved in seen or not (resolved / STATE_FILE).is_file():
            continue
        seen.add(resolved)
        try:
            target = EmbeddedTarget.attach(resolved)
        except (ValueError, KeyError, TypeError) as error:
            report.problems.append(f"{resolved / STATE_FILE} is not a target's state file ({type(error).__name__}: "
                                   f"{error}); its target was not checked")
            continue
        if any(recorded.process() for recorded in target.state.components.values()):
            found.append(target)
    return found


def _clear_network_faults(report: CleanupReport) -> None:
    try:
        if netfaults.clear():
            report.undone.append(f"deleted the nftables table {netfaults.FAMILY} {netfaults.TABLE}")
    except netfaults.NetworkFaultError as error:
        report.skipped.append(f"nftables: not checked ({error})")


def _delete_chaos_mesh_objects(report: CleanupReport) -> None:
    """Delete the Chaos Mesh objects carrying :data:`SUITE_LABEL`, in every namespace, with kubectl.

    kubectl rather than the kubernetes client: cleanup is part of the base install.
    """
    kubeconfig = (os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")).split(os.pathsep)[0]
    if not Path(kubeconfig).is_file():
        report.skipped.append("Chaos Mesh: skipped, no kubeconfig (set KUBECONFIG to clean a cluster)")
        return
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        report.skipped.append(f"Chaos Mesh: skipped, kubectl is not installed (kubeconfig {kubeconfig})")
        return
    for resource in CHAOS_MESH_RESOURCES:
        argv = [kubectl, "--kubeconfig", kubeconfig, f"--request-timeout={KUBECTL_TIMEOUT_S:g}s", "delete", resource,
                "--all-namespaces", "--selector", SUITE_LABEL_SELECTOR, "--ignore-not-found", "--output", "name"]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT_S * 2, check=False)
        except subprocess.TimeoutExpired:
            report.skipped.append(f"Chaos Mesh: skipped, the cluster of {kubeconfig} did not answer")
            return
        said = (result.stderr.strip().splitlines() or ["no message"])[-1]
        if result.returncode != 0 and "the server doesn't have a resource type" in result.stderr:
            continue  # this Chaos Mesh kind is not installed
        if result.returncode != 0 and any(sign in result.stderr for sign in UNREACHABLE_SIGNS):
            report.skipped.append(f"Chaos Mesh: skipped, the cluster of {kubeconfig} did not answer ({said})")
            return
        if result.returncode != 0:
            report.problems.append(f"Chaos Mesh: kubectl delete {resource} failed: {said}")
            continue
        report.undone += [f"deleted Chaos Mesh {name}" for name in result.stdout.split()]
