"""Where an experiment's target is: the embedded one in a run folder, or URLs from configuration.

Experiments against staging set ``hive_api_url`` (and ``mcp_url``) in their configuration;
without them the probes and actions use the embedded target whose state is in
``target_dir`` (default ``reports/target``, where ``hive-resilience target up`` puts it).
"""

from __future__ import annotations

from pathlib import Path

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from hive_resilience.target.embedded import EmbeddedTarget, TargetError

DEFAULT_TARGET_DIR = "reports/target"


def target_dir(configuration: Configuration | None) -> Path:
    return Path((configuration or {}).get("target_dir") or DEFAULT_TARGET_DIR)


def embedded_target(configuration: Configuration | None) -> EmbeddedTarget:
    try:
        return EmbeddedTarget.attach(target_dir(configuration))
    except TargetError as error:
        raise ActivityFailed(f"{error}; start it with `hive-resilience target up` or the load control") from None


def api_url(configuration: Configuration | None) -> str:
    return ((configuration or {}).get("hive_api_url") or embedded_target(configuration).api_url).rstrip("/")


def mcp_url(configuration: Configuration | None) -> str:
    return ((configuration or {}).get("mcp_url") or embedded_target(configuration).mcp_url).rstrip("/")
