"""Containers wired as the deployment plan wires them: the queen of the Hive container calls the tools container."""

from __future__ import annotations

from containers import HiveServerContainer


def test_a_new_queen_session_of_a_hive_container_can_call_the_tools_containers_tool(start_container, built_images,
                                                                                      llm_stub, tools_server):
    # A Hive of its own: registering a server changes what every later session of it can call.
    hive = start_container(HiveServerContainer(llm_stub.get_url(), built_images["hive"]))
    proof = hive.wire_agent_tools(tools_server.get_url())
    assert "risk_score" in proof.mcp_tools
