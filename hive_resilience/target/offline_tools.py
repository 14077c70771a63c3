"""The aden-tools calls that load and benchmarks may make on any machine.

They need no credentials and no network: credential tools fail fast (and would count as
failures), and network tools must never send traffic anywhere but loopback. They are
McpToolsUser's mix when a scenario names no ``tools`` of its own, each equally often.
"""

OFFLINE_TOOL_CALLS: tuple[tuple[str, dict], ...] = (
    ("get_current_time", {"timezone": "UTC"}),
    ("get_current_time", {"timezone": "Europe/London"}),
    ("risk_score", {}),
)
