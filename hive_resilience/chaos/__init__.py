"""A Chaos Toolkit extension for Hive: probes, actions and controls.

``probes`` observe the Hive API, the tools MCP server and the load; ``actions`` break and
mend the embedded target (signals, LLM faults, latency through the fault proxy, packet loss
with nftables: the kinds of :mod:`hive_resilience.target.fault_registry`) or, through ``k8s``,
a cluster; ``controls`` run load for the whole experiment, record what users felt before,
during and after the fault, sweep the fault registry at the end and write the report.
Experiments live in ``chaos/experiments/``; ``chaos discover --no-install hive-resilience``
lists every action and probe with its arguments.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from chaoslib.discovery.discover import (
    discover_actions,
    discover_probes,
    initialize_discovery_result,
)
from chaoslib.types import Discovery

__all__ = ["__version__", "discover"]

try:
    __version__ = version("hive-resilience")
except PackageNotFoundError:
    __version__ = "unknown"

ACTION_MODULES = ("hive_resilience.chaos.actions",)
PROBE_MODULES = ("hive_resilience.chaos.probes", "hive_resilience.chaos.agent_probes", "hive_resilience.chaos.llm_probes",
                 "hive_resilience.chaos.k8s")


def discover(discover_system: bool = True) -> Discovery:
    """The actions and probes this extension offers, each with its arguments and docstring.

    ``discover_system`` is part of Chaos Toolkit's discovery protocol; there is no system to
    describe beyond what the probes measure, so it changes nothing. Returns the discovery
    document ``chaos discover`` writes to ``discovery.json``.
    """
    discovery = initialize_discovery_result("hive-resilience", __version__, "hive")
    for module in ACTION_MODULES:
        discovery["activities"].extend(discover_actions(module))
    for module in PROBE_MODULES:
        discovery["activities"].extend(discover_probes(module))
    return discovery
