"""Chaos Toolkit actions on the embedded target: break a component, then mend it.

Every fault is a kind in :mod:`hive_resilience.target.fault_registry`, which says how to apply
it, undo it and check that it is gone; these actions are its named entry points for
experiments, and ``inject_fault`` / ``undo_fault`` reach any registered kind, a new one too.
Every undo is safe to run twice, so experiments list it both in the method (to measure
recovery) and in the rollbacks (to leave the system as found even when the run is
interrupted); the load control also sweeps the registry at the end and undoes what is left.

Every action takes ``configuration``, the experiment's configuration: its ``target_dir`` says
in which folder the embedded target was started (default ``reports/target``).
"""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from hive_resilience.chaos.context import embedded_target
from hive_resilience.target import fault_registry
from hive_resilience.target.fault_registry import FaultError
from hive_resilience.target.faults import healthy_faults
from hive_resilience.target.llm_stub import LlmFaults

__all__ = [
    "drop_mcp_packets",
    "ensure_component_running",
    "freeze_component",
    "inject_fault",
    "kill_component",
    "remove_network_faults",
    "reset_llm_faults",
    "reset_proxy_faults",
    "restart_component",
    "set_llm_faults",
    "set_proxy_faults",
    "thaw_component",
    "undo_fault",
]


def kill_component(component: str, signal: str = "SIGKILL", configuration: Configuration = None) -> int:
    """Send a signal to every process of a component, as a crash or an operator would.

    Arguments:
        component: the embedded target's component: ``hive-api``, ``tools``, ``llm-stub`` or
            ``mcp-proxy`` (only with the fault proxy).
        signal: the signal's name, e.g. ``SIGKILL`` (default, waits until the process is dead)
            or ``SIGTERM``.

    Returns the pid of the component's main process.
    """
    return _apply("killed-component", configuration, component=component, signal=signal)


def freeze_component(component: str, duration_s: float = 5.0, configuration: Configuration = None) -> float:
    """SIGSTOP a component for a while, then SIGCONT it: a hung process.

    Arguments:
        component: the embedded target's component (``hive-api``, ``tools``, ``llm-stub``, ...).
        duration_s: how long, in seconds, the component stays stopped; the action blocks as long.

    Returns ``duration_s``.
    """
    _apply("frozen-component", configuration, component=component)
    try:
        time.sleep(duration_s)
    finally:
        _undo("frozen-component", configuration, component)
    return duration_s


def thaw_component(component: str, configuration: Configuration = None) -> bool:
    """SIGCONT a component's stopped processes: the rollback of a freeze.

    Arguments:
        component: the embedded target's component (``hive-api``, ``tools``, ``llm-stub``, ...).

    Returns True when one of its processes was stopped.
    """
    return _undo("frozen-component", configuration, component)


def restart_component(component: str, wait: bool = False, configuration: Configuration = None) -> float:
    """Stop what is left of a component and start it again.

    Arguments:
        component: the embedded target's component (``hive-api``, ``tools``, ``llm-stub``, ...).
        wait: false (default) returns at once, so a following ``time_to_recover`` probe measures
            the recovery; true waits until the component serves again.

    Returns the seconds from the start until it served (with ``wait``), else until the start.
    """
    target = embedded_target(configuration)
    _reported(fault_registry.require_component, target, component)
    target.stop_component(component, grace_s=5)
    started = time.monotonic()
    target.start_component(component)
    if wait:
        target.wait_until_ready(component)
    return round(time.monotonic() - started, 3)


def ensure_component_running(component: str, configuration: Configuration = None) -> bool:
    """Rollback: thaw a component and, if it is gone, start it and wait until it serves.

    Arguments:
        component: the embedded target's component (``hive-api``, ``tools``, ``llm-stub``, ...).

    Returns True when it had to be started.
    """
    thaw_component(component, configuration)
    return _undo("killed-component", configuration, component)


def set_llm_faults(first_token_delay_ms: float | None = None, token_delay_ms: float | None = None,
                   failure_ratio: float | None = None, outage: bool | None = None,
                   server_error_ratio: float | None = None, rate_limit_ratio: float | None = None,
                   rate_limit_rpm: float | None = None, retry_after_s: float | None = None,
                   hang_ratio: float | None = None, hang_s: float | None = None,
                   stream_cut_ratio: float | None = None, stream_cut_after_chunks: float | None = None,
                   context_length_ratio: float | None = None, configuration: Configuration = None) -> dict:
    """Make the LLM stub slow or failing the way real providers do; knobs not given go back to healthy.

    Every knob of :class:`~hive_resilience.target.llm_stub.LlmFaults`, each answered in
    OpenAI's wire format; a ratio is the share of LLM calls, 0 to 1, drawn per call.

    Arguments:
        first_token_delay_ms: milliseconds before the first token of every reply.
        token_delay_ms: milliseconds between streamed tokens.
        failure_ratio: share of calls answered 503 (an overloaded provider).
        outage: true answers every call with a 503.
        server_error_ratio: share of calls answered 500.
        rate_limit_ratio: share of calls answered 429 with ``Retry-After``.
        rate_limit_rpm: a requests-per-minute budget over a sliding minute, 429 beyond it; 0 = none.
        retry_after_s: the ``Retry-After`` seconds of every 429 (healthy default 1).
        hang_ratio: share of calls accepted and then left without a byte for ``hang_s`` seconds.
        hang_s: how long such a call stays silent before the stub answers after all (default
            60); keep it small in experiments, so the stub itself ends the hang.
        stream_cut_ratio: share of streamed replies whose connection is closed mid-body, with
            no error and no ``[DONE]``.
        stream_cut_after_chunks: how many chunks such a reply sends before the cut (default 3).
        context_length_ratio: share of calls answered 400 ``context_length_exceeded``.

    Returns the LLM stub's faults now in force, knob by knob.
    """
    # The parameters are LlmFaults' fields by name (a test holds them equal); None = not given.
    given = {knob: value for knob, value in locals().items() if knob != "configuration" and value is not None}
    return _apply("llm-faults", configuration, **{**healthy_faults(LlmFaults), **given})


def reset_llm_faults(configuration: Configuration = None) -> dict:
    """A healthy LLM stub again.

    Returns the LLM stub's faults now in force: the healthy defaults.
    """
    return _undo("llm-faults", configuration, "llm-stub")


def set_proxy_faults(latency_ms: float = 0, jitter_ms: float = 0, configuration: Configuration = None) -> dict:
    """Add latency to MCP traffic through the fault proxy (needs ``target up --fault-proxy``).

    Arguments:
        latency_ms: milliseconds added to every client-to-tools-server chunk.
        jitter_ms: up to this many milliseconds more or less, at random, per chunk.

    Returns the fault proxy's faults now in force, knob by knob.
    """
    return _apply("proxy-faults", configuration, latency_ms=latency_ms, jitter_ms=jitter_ms)


def reset_proxy_faults(configuration: Configuration = None) -> dict:
    """A transparent fault proxy again.

    Returns the fault proxy's faults now in force: the healthy defaults.
    """
    return _undo("proxy-faults", configuration, "mcp-proxy")


def drop_mcp_packets(loss_percent: float = 30, configuration: Configuration = None) -> int:
    """Drop a share of the TCP packets to and from the MCP port with nftables (needs root and nft).

    Arguments:
        loss_percent: the share of packets dropped at random, above 0 and at most 100.

    Returns the MCP port.
    """
    return _apply("packet-loss", configuration, loss_percent=loss_percent)


def remove_network_faults(configuration: Configuration = None) -> bool:
    """Delete the suite's nftables table, and with it any packet loss.

    Returns True when there was one.
    """
    return _undo("packet-loss", configuration)


def inject_fault(kind: str, arguments: dict | None = None, configuration: Configuration = None) -> Any:
    """Inject a fault of any registered kind, a plug-in's too, by its registry name.

    Arguments:
        kind: the fault kind's name in the registry, e.g. ``llm-faults``, ``packet-loss``,
            ``frozen-component`` or one registered by a plug-in.
        arguments: the kind's own arguments, e.g. ``{"component": "tools"}``.

    Returns what the kind's ``apply`` returns.
    """
    return _apply(kind, configuration, **(arguments or {}))


def undo_fault(kind: str, place: str | None = None, configuration: Configuration = None) -> Any:
    """Undo a fault of any registered kind, by its registry name.

    Arguments:
        kind: the fault kind's name in the registry.
        place: where to undo it, e.g. a component; may be left out when the kind has one place.

    Returns what the kind's ``undo`` returns.
    """
    return _undo(kind, configuration, place)


def _apply(kind: str, configuration: Configuration, **arguments: Any) -> Any:
    return _reported(fault_registry.FAULTS.apply, kind, embedded_target(configuration), **arguments)


def _undo(kind: str, configuration: Configuration, place: str | None = None) -> Any:
    return _reported(fault_registry.FAULTS.undo, kind, embedded_target(configuration), place)


def _reported(function, *args: Any, **arguments: Any) -> Any:
    """The registry's failure as the ``ActivityFailed`` Chaos Toolkit reports to the operator."""
    try:
        return function(*args, **arguments)
    except FaultError as error:
        raise ActivityFailed(str(error)) from None
