"""Chaos Toolkit actions on the embedded target: break a component, then mend it.

Every fault has an undo that is safe to run twice, so experiments list the undo both in the
method (to measure recovery) and in the rollbacks (to leave the system as found even when
the run is interrupted). The load control also undoes whatever is left at the end.
"""

from __future__ import annotations

import signal as signals
import time

import psutil
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from hive_resilience.chaos.context import embedded_target
from hive_resilience.clients import http_client
from hive_resilience.target import netfaults
from hive_resilience.target.embedded import EmbeddedTarget

__all__ = [
    "drop_mcp_packets",
    "ensure_component_running",
    "freeze_component",
    "kill_component",
    "partition_mcp_port",
    "remove_network_faults",
    "reset_llm_faults",
    "reset_proxy_faults",
    "restart_component",
    "set_llm_faults",
    "set_proxy_faults",
    "thaw_component",
]


def kill_component(component: str, signal: str = "SIGKILL", configuration: Configuration = None) -> int:
    """Send ``signal`` (SIGKILL, SIGTERM, ...) to the component's process group; returns its pid."""
    target = embedded_target(configuration)
    process = _live_process(target, component)
    try:
        signal_number = signals.Signals[signal]
    except KeyError:
        raise ActivityFailed(f"unknown signal {signal!r}; use e.g. SIGKILL, SIGTERM") from None
    for member in target.state.components[component].group_members():
        member.send_signal(signal_number)
    if signal_number == signals.SIGKILL:
        _wait_until_dead(process, timeout_s=10)
    return process.pid


def freeze_component(component: str, duration_s: float = 5.0, configuration: Configuration = None) -> float:
    """SIGSTOP the component for ``duration_s`` seconds, then SIGCONT it (a hung process)."""
    target = embedded_target(configuration)
    _live_process(target, component)
    members = target.state.components[component].group_members()
    for member in members:
        member.send_signal(signals.SIGSTOP)
    try:
        time.sleep(duration_s)
    finally:
        for member in members:
            member.send_signal(signals.SIGCONT)
    return duration_s


def thaw_component(component: str, configuration: Configuration = None) -> bool:
    """SIGCONT the component's processes (rollback of a freeze); True when one was stopped."""
    target = embedded_target(configuration)
    recorded = target.state.components.get(component)
    stopped = [p for p in (recorded.group_members() if recorded else []) if p.status() == "stopped"]
    for member in stopped:
        member.send_signal(signals.SIGCONT)
    return bool(stopped)


def restart_component(component: str, wait: bool = False, configuration: Configuration = None) -> float:
    """Stop what is left of the component and start it again.

    With ``wait`` false it returns at once, so a following ``time_to_recover`` probe measures
    the recovery; with ``wait`` true it returns the seconds until it served again.
    """
    target = embedded_target(configuration)
    _known(component, target)
    target.stop_component(component, grace_s=5)
    started = time.monotonic()
    target.start_component(component)
    if wait:
        target.wait_until_ready(component)
    return round(time.monotonic() - started, 3)


def ensure_component_running(component: str, configuration: Configuration = None) -> bool:
    """Rollback: thaw the component and restart it if it is gone; True when it had to start."""
    target = embedded_target(configuration)
    _known(component, target)
    thaw_component(component, configuration)
    recorded = target.state.components.get(component)
    if recorded and recorded.process():
        return False
    target.start_component(component)
    target.wait_until_ready(component)
    return True


def set_llm_faults(first_token_delay_ms: float = 0, token_delay_ms: float = 0, failure_ratio: float = 0,
                   outage: bool = False, configuration: Configuration = None) -> dict:
    """Make the LLM stub slow or failing; returns the faults now in force."""
    faults = {"first_token_delay_ms": first_token_delay_ms, "token_delay_ms": token_delay_ms,
              "failure_ratio": failure_ratio, "outage": outage}
    return _admin("PUT", f"{embedded_target(configuration).llm_url}/admin/faults", faults)


def reset_llm_faults(configuration: Configuration = None) -> dict:
    """A healthy LLM stub again."""
    return _admin("POST", f"{embedded_target(configuration).llm_url}/admin/faults/reset", None)


def set_proxy_faults(latency_ms: float = 0, jitter_ms: float = 0, configuration: Configuration = None) -> dict:
    """Add latency (and jitter) to MCP traffic through the fault proxy."""
    return _admin("PUT", f"{_proxied_target(configuration).proxy_admin_url}/admin/faults",
                  {"latency_ms": latency_ms, "jitter_ms": jitter_ms})


def reset_proxy_faults(configuration: Configuration = None) -> dict:
    """A transparent fault proxy again."""
    return _admin("POST", f"{_proxied_target(configuration).proxy_admin_url}/admin/faults/reset", None)


def drop_mcp_packets(loss_percent: float = 30, configuration: Configuration = None) -> int:
    """Drop ``loss_percent`` % of TCP packets on the MCP port with nftables; returns the port."""
    port = embedded_target(configuration).ports.mcp
    _nft(netfaults.drop_packets, port, loss_percent)
    return port


def partition_mcp_port(configuration: Configuration = None) -> int:
    """Cut the MCP port off entirely with nftables; returns the port."""
    port = embedded_target(configuration).ports.mcp
    _nft(netfaults.partition, port)
    return port


def remove_network_faults(configuration: Configuration = None) -> bool:
    """Delete our nftables table; True when there was one."""
    return _nft(netfaults.clear)


def _wait_until_dead(process: psutil.Process, timeout_s: float) -> None:
    """Until the process is gone or a zombie: its parent (maybe another process) reaps it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    raise ActivityFailed(f"pid {process.pid} still runs {timeout_s:g} s after SIGKILL")


def _nft(function, *args):
    try:
        return function(*args)
    except (netfaults.NetworkFaultError, ValueError) as error:
        raise ActivityFailed(str(error)) from None


def _known(component: str, target: EmbeddedTarget) -> None:
    if component not in target.components:
        raise ActivityFailed(f"unknown component {component!r}; this target runs {', '.join(target.components)}")


def _live_process(target: EmbeddedTarget, component: str):
    _known(component, target)
    recorded = target.state.components.get(component)
    process = recorded.process() if recorded else None
    if process is None:
        raise ActivityFailed(f"{component} is not running; nothing to act on")
    return process


def _proxied_target(configuration: Configuration) -> EmbeddedTarget:
    target = embedded_target(configuration)
    if not target.state.fault_proxy:
        raise ActivityFailed("the embedded target runs without the fault proxy: start it with `target up --fault-proxy`")
    return target


def _admin(method: str, url: str, payload: dict | None) -> dict:
    try:
        answer = http_client.call(method, url, payload)
    except OSError as error:
        raise ActivityFailed(f"fault admin endpoint unreachable: {error}") from None
    if answer.status != 200:
        raise ActivityFailed(f"{url} refused the faults: {(answer.json or {}).get('error', answer.status)}")
    return answer.json
