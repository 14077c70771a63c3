"""Every fault the suite can inject into the embedded target, each with its undo and its check.

A fault kind is declared once, here or through :meth:`FaultRegistry.register`: how to apply it,
where on a target it can be (its places: a component, the nftables table), how to undo it in
one place, and how to see whether it is still there. Chaos actions apply and undo faults
through the registry; the load control's end-of-experiment sweep checks every registered kind
in every place and undoes what is left; the chaos summary reports the sweep kind by kind. A new
fault is one registration: no second undo to remember in the control, no healthy values to
copy (the stand-ins' healthy knobs are their dataclass defaults).

Kinds are swept in registration order, which matters: packet loss goes first (a partitioned
port would fail a restarted component's readiness check), frozen processes are resumed before
killed ones are restarted, and the stand-ins' faults are checked last, once they run again.

Target code uses this module, so it must not import chaoslib; actions turn :class:`FaultError`
into ``ActivityFailed``.
"""

from __future__ import annotations

import signal as signals
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from hive_resilience.processes import wait_until_dead
from hive_resilience.target import netfaults
from hive_resilience.target.embedded import EmbeddedTarget, TargetError
from hive_resilience.target.fault_proxy import ProxyFaults
from hive_resilience.target.faults import (
    FaultAdminError,
    FaultSettings,
    healthy_faults,
    put_faults,
    read_faults,
    reset_faults,
)
from hive_resilience.target.llm_stub import LlmFaults

KILL_WAIT_S = 10.0
SIGNAL_SETTLE_S = 5.0
"""How long SIGSTOP/SIGCONT may take to show in a process's state: signals are delivered asynchronously."""


class FaultError(RuntimeError):
    """A fault cannot be applied, undone or checked; the message says why and what to do."""


MECHANISM_ERRORS = (FaultError, FaultAdminError, netfaults.NetworkFaultError, TargetError, ValueError, psutil.Error)
"""What the fault mechanisms raise; the registry reports each as a :class:`FaultError`."""


@dataclass(frozen=True)
class FaultKind:
    """One kind of fault: what a plug-in fault must provide to be applied, undone and checked."""

    name: str
    """Its key in the registry and in the journal, e.g. ``packet-loss``."""
    places: Callable[[EmbeddedTarget], tuple[str, ...]]
    """Where this kind of fault can be on a target (component names, a table); empty when it cannot."""
    apply: Callable[..., Any]
    """``apply(target, **arguments)``: inject the fault; returns what the chaos action reports."""
    undo: Callable[[EmbeddedTarget, str], Any]
    """``undo(target, place)``: remove the fault from one place; safe to run when it is not there."""
    present: Callable[[EmbeddedTarget, str], bool]
    """``present(target, place)``: True while the fault is still there; raises when it cannot tell."""
    undone_as: str
    """What the sweep records after undoing it, with ``{place}``: ``"restarted {place}"``."""


@dataclass
class KindSweep:
    """What the end-of-experiment sweep found for one fault kind, place by place."""

    kind: str
    undone: list[str] = field(default_factory=list)
    """What was still in place and the sweep undid, in the kind's ``undone_as`` words."""
    unchecked: list[str] = field(default_factory=list)
    """Places whose check could not run, with the reason: not known to be clean."""
    remaining: list[str] = field(default_factory=list)
    """Places where the fault was still there after the undo, with the reason."""


class FaultRegistry:
    """The fault kinds by name, in sweep order."""

    def __init__(self) -> None:
        self._kinds: dict[str, FaultKind] = {}

    def register(self, kind: FaultKind) -> FaultKind:
        if kind.name in self._kinds:
            raise ValueError(f"fault kind {kind.name!r} is already registered")
        self._kinds[kind.name] = kind
        return kind

    def kinds(self) -> tuple[FaultKind, ...]:
        return tuple(self._kinds.values())

    def get(self, name: str) -> FaultKind:
        try:
            return self._kinds[name]
        except KeyError:
            raise FaultError(f"unknown fault kind {name!r}; registered: {', '.join(self._kinds)}") from None

    def apply(self, name: str, target: EmbeddedTarget, **arguments: Any) -> Any:
        """Inject fault ``name`` with its own ``arguments``; returns what its ``apply`` returns."""
        return _reported(self.get(name).apply, target, **arguments)

    def undo(self, name: str, target: EmbeddedTarget, place: str | None = None) -> Any:
        """Undo fault ``name`` in ``place`` (the kind's only place when None); returns what its ``undo`` returns."""
        kind = self.get(name)
        places = kind.places(target)
        if place is None and len(places) != 1:
            raise FaultError(f"fault kind {name!r} can be in {', '.join(places) or 'no place on this target'}; "
                             "say which")
        return _reported(kind.undo, target, places[0] if place is None else place)

    def sweep(self, target: EmbeddedTarget) -> list[KindSweep]:
        """Check every kind in every place, undo what is left, and check again."""
        return [self._sweep_kind(kind, target) for kind in self.kinds()]

    @staticmethod
    def _sweep_kind(kind: FaultKind, target: EmbeddedTarget) -> KindSweep:
        outcome = KindSweep(kind.name)
        for place in kind.places(target):
            try:
                if not _reported(kind.present, target, place):
                    continue
            except FaultError as error:
                outcome.unchecked.append(f"{place}: {error}")
                continue
            try:
                _reported(kind.undo, target, place)
                still_there = _reported(kind.present, target, place)
            except FaultError as error:
                outcome.remaining.append(f"{place}: {error}")
                continue
            if still_there:
                outcome.remaining.append(f"{place}: still there after the undo")
            else:
                outcome.undone.append(kind.undone_as.format(place=place))
        return outcome


def _reported(function: Callable[..., Any], *args: Any, **arguments: Any) -> Any:
    try:
        return function(*args, **arguments)
    except MECHANISM_ERRORS as error:
        if isinstance(error, FaultError):
            raise
        raise FaultError(str(error)) from None


def stand_in_kind(name: str, component: str, settings_type: type[FaultSettings],
                  admin_url: Callable[[EmbeddedTarget], str], runs: Callable[[EmbeddedTarget], bool]) -> FaultKind:
    """The fault kind of a stand-in that serves ``/admin/faults`` for ``settings_type`` knobs."""

    def places(target: EmbeddedTarget) -> tuple[str, ...]:
        return (component,) if runs(target) else ()

    def apply(target: EmbeddedTarget, **knobs: Any) -> dict:
        _require_place(target, component, places)
        return put_faults(admin_url(target), knobs)

    def undo(target: EmbeddedTarget, place: str) -> dict:
        _require_place(target, place, places)
        return reset_faults(admin_url(target))

    def present(target: EmbeddedTarget, place: str) -> bool:
        return read_faults(admin_url(target)) != healthy_faults(settings_type)

    return FaultKind(name, places, apply, undo, present, "reset the faults of {place}")


def _require_place(target: EmbeddedTarget, place: str, places: Callable[[EmbeddedTarget], tuple[str, ...]]) -> None:
    if place not in places(target):
        if place == "mcp-proxy":
            raise FaultError("the embedded target runs without the fault proxy: start it with `target up --fault-proxy`")
        raise FaultError(f"{place} does not run on this target")


def _network_places(_: EmbeddedTarget) -> tuple[str, ...]:
    return (f"nftables table {netfaults.FAMILY} {netfaults.TABLE}",)


def _apply_network_fault(target: EmbeddedTarget, loss_percent: float | None = None) -> int:
    """Packet loss on the MCP port, or with ``loss_percent`` None a partition; returns the port."""
    port = target.ports.mcp
    if loss_percent is None:
        netfaults.partition(port)
    else:
        netfaults.drop_packets(port, loss_percent)
    return port


def _clear_network(_: EmbeddedTarget, __: str) -> bool:
    return netfaults.clear()


def _network_fault_present(_: EmbeddedTarget, __: str) -> bool:
    return netfaults.table_present()


def _component_places(target: EmbeddedTarget) -> tuple[str, ...]:
    return target.components


def require_component(target: EmbeddedTarget, component: str) -> None:
    """Fail with the components this target runs when ``component`` is not one of them."""
    if component not in target.components:
        raise FaultError(f"unknown component {component!r}; this target runs {', '.join(target.components)}")


def live_process(target: EmbeddedTarget, component: str) -> psutil.Process:
    """The component's recorded process; fails when it does not run, as there is nothing to act on."""
    require_component(target, component)
    recorded = target.state.components.get(component)
    process = recorded.process() if recorded else None
    if process is None:
        raise FaultError(f"{component} is not running; nothing to act on")
    return process


def _members(target: EmbeddedTarget, component: str) -> list[psutil.Process]:
    recorded = target.state.components.get(component)
    return recorded.group_members() if recorded else []


def _stopped_members(target: EmbeddedTarget, component: str) -> list[psutil.Process]:
    stopped = []
    for member in _members(target, component):
        try:
            if member.status() == psutil.STATUS_STOPPED:
                stopped.append(member)
        except psutil.NoSuchProcess:
            continue
    return stopped


def _freeze(target: EmbeddedTarget, component: str) -> list[int]:
    """SIGSTOP the component's process group; returns the pids stopped (plain data, since
    ``inject_fault`` hands it to Chaos Toolkit's JSON journal)."""
    live_process(target, component)
    members = _members(target, component)
    for member in members:
        member.send_signal(signals.SIGSTOP)
    _settle(lambda: len(_stopped_members(target, component)) >= len(members))
    return [member.pid for member in members]


def _frozen(target: EmbeddedTarget, component: str) -> bool:
    return bool(_stopped_members(target, component))


def _thaw(target: EmbeddedTarget, component: str) -> bool:
    """SIGCONT the component's stopped processes; True when one was stopped."""
    require_component(target, component)
    stopped = _stopped_members(target, component)
    for member in stopped:
        member.send_signal(signals.SIGCONT)
    _settle(lambda: not _stopped_members(target, component))
    return bool(stopped)


def _settle(done: Callable[[], bool]) -> None:
    """Wait (bounded) until a signal's effect is visible, so ``present`` agrees with what was just done."""
    deadline = time.monotonic() + SIGNAL_SETTLE_S
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)


def _kill(target: EmbeddedTarget, component: str, signal: str = "SIGKILL") -> int:
    """Send ``signal`` to the component's process group; returns its pid (after SIGKILL, once dead)."""
    process = live_process(target, component)
    try:
        signal_number = signals.Signals[signal]
    except KeyError:
        raise FaultError(f"unknown signal {signal!r}; use e.g. SIGKILL, SIGTERM") from None
    for member in _members(target, component):
        member.send_signal(signal_number)
    if signal_number == signals.SIGKILL and not wait_until_dead(process, KILL_WAIT_S):
        raise FaultError(f"pid {process.pid} still runs {KILL_WAIT_S:g} s after SIGKILL")
    return process.pid


def _gone(target: EmbeddedTarget, component: str) -> bool:
    require_component(target, component)
    target.refresh()
    recorded = target.state.components.get(component)
    return not (recorded and recorded.process())


def _start_if_gone(target: EmbeddedTarget, component: str) -> bool:
    """Start the component and wait until it serves, when it is gone; True when it had to start."""
    if not _gone(target, component):
        return False
    target.start_component(component)
    target.wait_until_ready(component)
    return True


FAULTS = FaultRegistry()
"""The registry every chaos action, the control's sweep and the summary use."""

FAULTS.register(FaultKind("packet-loss", _network_places, _apply_network_fault, _clear_network,
                          _network_fault_present, "deleted the {place}"))
FAULTS.register(FaultKind("frozen-component", _component_places, _freeze, _thaw, _frozen, "resumed frozen {place}"))
FAULTS.register(FaultKind("killed-component", _component_places, _kill, _start_if_gone, _gone, "restarted {place}"))
FAULTS.register(stand_in_kind("llm-faults", "llm-stub", LlmFaults, lambda target: target.llm_url,
                              runs=lambda target: True))
FAULTS.register(stand_in_kind("proxy-faults", "mcp-proxy", ProxyFaults, lambda target: target.proxy_admin_url,
                              runs=lambda target: target.state.fault_proxy))
