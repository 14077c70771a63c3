"""Packet loss and partitions on one loopback TCP port, with nftables rules in a table of our own.

Everything lives in the table ``inet hive_resilience``, so removing the fault is deleting that
table, and nothing else in the machine's ruleset is touched. Rules match the port as source
or destination on the output hook, which loopback traffic passes in both directions.
"""

from __future__ import annotations

import os
import shutil
import subprocess

TABLE = "hive_resilience"
FAMILY = "inet"
LOSS_RESOLUTION = 10_000
"""Random draws per rule: loss is set in steps of 100 / 10 000 = 0.01 %."""


class NetworkFaultError(RuntimeError):
    """nftables cannot be used here; the message says what is missing."""


def drop_packets(port: int, loss_percent: float) -> None:
    """Drop ``loss_percent`` % of the TCP packets to and from ``port`` (random, per packet).

    nft draws a random number below :data:`LOSS_RESOLUTION`, so the loss is honoured to
    1/100 of a percent; a finer one would be rounded to another figure, so it is refused.
    """
    if not 0 < loss_percent <= 100:
        raise ValueError("loss_percent must be above 0 and at most 100")
    threshold = round(loss_percent * LOSS_RESOLUTION / 100)
    if abs(threshold * 100 / LOSS_RESOLUTION - loss_percent) > 1e-9:
        raise ValueError(f"loss_percent {loss_percent:g} is finer than nftables can drop here: "
                         f"give a multiple of {100 / LOSS_RESOLUTION:g} %")
    _apply_rules(port, [f"tcp {direction} {port} numgen random mod {LOSS_RESOLUTION} < {threshold} drop"
                        for direction in ("dport", "sport")])


def partition(port: int) -> None:
    """Drop every TCP packet to and from ``port``: the component is cut off."""
    _apply_rules(port, [f"tcp {direction} {port} drop" for direction in ("dport", "sport")])


def clear() -> bool:
    """Remove our table and with it every fault; returns whether there was one."""
    if not table_present():
        return False
    _nft("delete", "table", FAMILY, TABLE)
    return True


def table_present() -> bool:
    _require_nft()
    return subprocess.run(["nft", "list", "table", FAMILY, TABLE], capture_output=True).returncode == 0


def _apply_rules(port: int, rules: list[str]) -> None:
    if not 0 < port < 65536:
        raise ValueError(f"{port} is not a port number")
    clear()
    _nft("add", "table", FAMILY, TABLE)
    _nft("add", "chain", FAMILY, TABLE, "output", "{ type filter hook output priority 0 ; policy accept ; }")
    for rule in rules:
        _nft("add", "rule", FAMILY, TABLE, "output", *rule.split())


def _nft(*args: str) -> None:
    _require_nft()
    result = subprocess.run(["nft", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise NetworkFaultError(f"nft {' '.join(args)} failed: {result.stderr.strip()}")


def _require_nft() -> None:
    if shutil.which("nft") is None:
        raise NetworkFaultError("nft is not installed: apt-get install nftables")
    if os.geteuid() != 0:
        raise NetworkFaultError("nftables rules need root: run the experiment as root")
