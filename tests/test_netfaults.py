"""nftables faults live in a table of our own and go away with it (needs root and nft)."""

from __future__ import annotations

import socket
import subprocess
from types import SimpleNamespace

import pytest

from hive_resilience.target import netfaults
from hive_resilience.target.embedded import TargetPorts, free_port
from hive_resilience.target.fault_registry import FAULTS, FaultError


@pytest.fixture(autouse=True)
def no_table_left():
    netfaults.clear()
    yield
    netfaults.clear()


def ruleset() -> str:
    return subprocess.run(["nft", "list", "table", netfaults.FAMILY, netfaults.TABLE], capture_output=True,
                          text=True).stdout


def test_packet_loss_rules_match_the_port_both_ways_and_clear_removes_them():
    port = free_port()
    netfaults.drop_packets(port, 30)
    assert netfaults.table_present()
    rules = ruleset()
    assert f"tcp dport {port} numgen random mod 10000 < 3000 drop" in rules
    assert f"tcp sport {port} numgen random mod 10000 < 3000 drop" in rules
    assert netfaults.clear() is True
    assert not netfaults.table_present()
    assert netfaults.clear() is False


def test_a_partition_stops_connections_to_the_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        netfaults.partition(port)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        netfaults.clear()
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_new_fault_replaces_the_previous_one():
    netfaults.partition(free_port())
    port = free_port()
    netfaults.drop_packets(port, 10)
    assert ruleset().count("drop") == 2 and f"sport {port}" in ruleset()


def test_missing_nft_says_what_to_install(monkeypatch):
    monkeypatch.setattr(netfaults.shutil, "which", lambda _: None)
    with pytest.raises(netfaults.NetworkFaultError, match="apt-get install nftables"):
        netfaults.drop_packets(free_port(), 10)


def test_not_root_says_so(monkeypatch):
    monkeypatch.setattr(netfaults.os, "geteuid", lambda: 1000)
    with pytest.raises(netfaults.NetworkFaultError, match="root"):
        netfaults.partition(free_port())


def test_a_loss_below_half_a_percent_is_honoured_not_rounded_to_zero():
    port = free_port()
    netfaults.drop_packets(port, 0.1)
    assert f"tcp dport {port} numgen random mod 10000 < 10 drop" in ruleset()


def test_a_loss_finer_than_the_rules_can_drop_is_refused_and_nothing_is_applied():
    with pytest.raises(ValueError, match="multiple of 0.01 %"):
        netfaults.drop_packets(free_port(), 0.005)
    assert not netfaults.table_present()


@pytest.mark.parametrize("loss", [0, -5, 101])
def test_loss_outside_zero_to_hundred_is_refused(loss):
    with pytest.raises(ValueError):
        netfaults.drop_packets(free_port(), loss)


def test_the_registry_sees_packet_loss_on_the_mcp_port_until_the_table_is_gone():
    kind, target = FAULTS.get("packet-loss"), SimpleNamespace(ports=TargetPorts(mcp=free_port()))
    (place,) = kind.places(target)
    assert FAULTS.apply("packet-loss", target, loss_percent=20) == target.ports.mcp
    assert kind.present(target, place)
    assert FAULTS.undo("packet-loss", target) is True
    assert not kind.present(target, place)


def test_a_packet_loss_check_without_nft_cannot_run_and_says_why(monkeypatch):
    monkeypatch.setattr(netfaults.shutil, "which", lambda _: None)
    with pytest.raises(FaultError, match="apt-get install nftables"):
        FAULTS.undo("packet-loss", SimpleNamespace(ports=TargetPorts()))
