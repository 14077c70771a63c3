"""A Chaos Toolkit extension for Hive: probes, actions and controls.

``probes`` observe the Hive API, the tools MCP server and the load; ``actions`` break and
mend the embedded target (signals, LLM faults, latency through the fault proxy, packet loss
with nftables) or, through ``k8s``, a cluster; ``controls`` run load for the whole experiment,
record what users felt before, during and after the fault, and write the report.
Experiments live in ``chaos/experiments/``.
"""
