"""Persistence: sessions and conversations survive a restart and a SIGKILL when HIVE_HOME is
on a volume, and files tools write to the workspace volume survive too (the deployment plan's
"workspace persistence" and "no session is lost on a crash" promises). Replacing a container
without keeping its volume loses everything: the test shows it, so the volume is not optional.
"""

from __future__ import annotations

import uuid

import pytest
from containers import HiveServerContainer, HiveToolsContainer
from hive_flows import chat_turn, docker, holds_turn, stored_conversation

from hive_resilience.infra import images


def new_hive(llm_stub, volume: str | None = None) -> HiveServerContainer:
    container = HiveServerContainer(llm_stub.get_url(), images.image_tags()["hive"])
    return container.with_home_volume(volume) if volume else container


@pytest.mark.parametrize("crash", ["restart", "sigkill"])
def test_conversation_survives_in_place(start_container, llm_stub, crash: str) -> None:
    """``docker restart`` (SIGTERM, then start) or SIGKILL and start: the same container comes back."""
    hive = start_container(new_hive(llm_stub))
    message = f"persistence {crash} {uuid.uuid4().hex[:8]}"
    session_id = chat_turn(hive.get_url(), message)

    if crash == "restart":
        docker("restart", "--time", "30", hive.get_container_id())
    else:
        docker("kill", "--signal", "KILL", hive.get_container_id())
        docker("start", hive.get_container_id())
    hive.wait_until_ready()

    conversation = stored_conversation(hive.get_url(), session_id)
    assert conversation is not None, f"session {session_id} is gone after {crash}"
    assert holds_turn(conversation, message), f"the turn is not stored after {crash}"


def test_conversation_survives_replacement_with_a_volume(start_container, llm_stub, named_volume) -> None:
    """A pod rescheduled with its persistent volume: a new container on the same HIVE_HOME."""
    volume = named_volume()
    first = start_container(new_hive(llm_stub, volume))
    message = f"persistence volume {uuid.uuid4().hex[:8]}"
    session_id = chat_turn(first.get_url(), message)
    docker("kill", "--signal", "KILL", first.get_container_id())
    first.stop()

    second = start_container(new_hive(llm_stub, volume))
    assert holds_turn(stored_conversation(second.get_url(), session_id), message)


def test_conversation_is_lost_on_replacement_without_a_volume(start_container, llm_stub) -> None:
    """Why the volume matters: without it the replacement starts with an empty HIVE_HOME."""
    first = start_container(new_hive(llm_stub))
    session_id = chat_turn(first.get_url(), f"persistence no volume {uuid.uuid4().hex[:8]}")
    first.stop()

    second = start_container(new_hive(llm_stub))
    assert stored_conversation(second.get_url(), session_id) is None


def test_tool_files_survive_on_the_workspace_volume(start_container, named_volume) -> None:
    volume = named_volume()
    path = f"~/.hive/persistence-{uuid.uuid4().hex[:8]}.csv"
    tools_image = images.image_tags()["tools"]
    first = start_container(HiveToolsContainer(tools_image).with_home_volume(volume))
    with first.get_client() as client:
        client.call_tool("csv_write", {"path": path, "columns": ["run", "verdict"],
                                       "rows": [{"run": "persistence", "verdict": "held"}]})
    docker("kill", "--signal", "KILL", first.get_container_id())
    first.stop()

    second = start_container(HiveToolsContainer(tools_image).with_home_volume(volume))
    with second.get_client() as client:
        text = client.call_tool("csv_read", {"path": path})["content"][0]["text"]
    assert "held" in text, text[:200]
