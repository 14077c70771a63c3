"""Dependency faults at container level: the LLM provider frozen (``docker pause``) and
resumed, and Hive held to a pod-sized memory limit through a burst of sessions.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from containers import HiveServerContainer
from hive_flows import chat_turn, container_state, docker

from hive_resilience.clients.hive_events import SessionEventStream, wait_for_reply
from hive_resilience.clients.http_client import HttpClient
from hive_resilience.infra import images

PAUSE_S = 8.0
RESPONSIVE_S = 2.0
"""Health and non-LLM routes must answer this fast while the LLM is frozen."""
RECOVERY_S = 90.0
MEMORY_LIMIT = "1g"
"""The low end of the deployment plan's pod sizing (1-2 GiB)."""
BURST_SESSIONS = 12
BURST_CONCURRENCY = 4
REPORT_DIR = Path("reports") / "integration"


def test_llm_frozen_then_resumed(start_container, fresh_llm_stub, record_property) -> None:
    hive = start_container(HiveServerContainer(fresh_llm_stub.get_url(), images.image_tags()["hive"]))
    api = HttpClient(hive.get_url(), timeout_s=RECOVERY_S)
    session_id = chat_turn(hive.get_url(), "warm-up before the LLM freezes")

    frozen_message = f"sent while the LLM is frozen {uuid.uuid4().hex[:8]}"
    with SessionEventStream(hive.get_url(), session_id, RECOVERY_S) as stream:
        docker("pause", fresh_llm_stub.get_container_id())
        try:
            posted = api.call("POST", f"/api/sessions/{session_id}/chat", {"message": frozen_message})
            assert posted.status == 200 and posted.json == {**posted.json, "delivered": True}
            slowest = _slowest_answer_while_frozen(api, session_id)
        finally:
            docker("unpause", fresh_llm_stub.get_container_id())
        resumed_at = time.monotonic()
        wait_for_reply(stream.events(), frozen_message)
        recovered_after_s = time.monotonic() - resumed_at

    record_property("slowest_non_llm_answer_while_frozen_s", round(slowest, 3))
    record_property("reply_after_resume_s", round(recovered_after_s, 2))
    print(f"LLM frozen {PAUSE_S:.0f} s: slowest non-LLM answer {slowest:.3f} s, reply {recovered_after_s:.2f} s after resume")
    assert slowest < RESPONSIVE_S, f"a non-LLM route took {slowest:.2f} s while the LLM was frozen"
    assert recovered_after_s < RECOVERY_S
    chat_turn(hive.get_url(), "a new conversation after the LLM is back")


def _slowest_answer_while_frozen(api: HttpClient, session_id: str) -> float:
    """Poll health, the session list and the session for PAUSE_S; the slowest answer's seconds."""
    slowest = 0.0
    deadline = time.monotonic() + PAUSE_S
    while time.monotonic() < deadline:
        for path in ("/api/health", "/api/sessions", f"/api/sessions/{session_id}"):
            started = time.monotonic()
            answer = api.call("GET", path)
            slowest = max(slowest, time.monotonic() - started)
            assert answer.status == 200, f"GET {path} answered HTTP {answer.status} while the LLM was frozen"
        time.sleep(0.2)
    return slowest


def test_memory_limited_hive_survives_a_session_burst(start_container, llm_stub, record_property) -> None:
    hive = start_container(HiveServerContainer(llm_stub.get_url(), images.image_tags()["hive"])
                           .with_memory_limit(MEMORY_LIMIT))
    api = HttpClient(hive.get_url(), timeout_s=120)

    def one_session(index: int) -> str:
        session_id = chat_turn(hive.get_url(), f"burst {index} {uuid.uuid4().hex[:6]}", timeout_s=120)
        api.call("DELETE", f"/api/sessions/{session_id}")
        return session_id

    with ThreadPoolExecutor(max_workers=BURST_CONCURRENCY) as pool:
        finished = list(pool.map(one_session, range(BURST_SESSIONS)))

    state = container_state(hive.get_container_id())
    peak_mib = hive.peak_memory_bytes() / 2**20
    record_property("peak_memory_mib", round(peak_mib))
    _write_figure({"memory_limit": MEMORY_LIMIT, "sessions": BURST_SESSIONS, "concurrency": BURST_CONCURRENCY,
                   "peak_memory_mib": round(peak_mib, 1)})
    assert len(finished) == BURST_SESSIONS
    assert state["Running"] and not state["OOMKilled"], f"Hive did not survive the burst: {state}"
    assert api.call("GET", "/api/health").json["status"] == "ok"
    assert 100 < peak_mib < 1024, f"peak {peak_mib:.0f} MiB"


def _write_figure(figure: dict) -> None:
    path = REPORT_DIR / "memory-under-limit.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figure, indent=2) + "\n")
    print(f"Hive under a {MEMORY_LIMIT} limit, {BURST_SESSIONS} sessions: peak {figure['peak_memory_mib']} MiB")
