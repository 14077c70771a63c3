"""Graceful shutdown: SIGTERM while requests and chat turns are in flight, as Kubernetes
sends it when a pod is deleted or rolled. Requests Hive accepted before the signal must be
answered, the container must exit within the default grace period (30 s) and cleanly.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import pytest
from containers import HiveServerContainer
from hive_flows import container_state, docker, wait_for_exit

from hive_resilience.clients.hive_events import (
    ReplyError,
    SessionEventStream,
    wait_for_reply,
)
from hive_resilience.clients.http_client import HttpClient
from hive_resilience.infra import images

GRACE_PERIOD_S = 30.0
"""Kubernetes' default terminationGracePeriodSeconds."""
ACCEPTED_MARGIN_S = 0.3
"""A request sent this long before the signal has surely been accepted by the server."""
SLOW_FIRST_TOKEN_MS = 4000
READ_ROUTES = ("/api/sessions/history", "/api/queen/profiles", "/api/health")
SESSIONS = 3
STREAM_BROKE = "ReplyError: event stream broke"
"""How a turn cancelled at SIGTERM ends for its client today: the SSE stream breaks, no reply."""


@dataclass
class Attempt:
    sent_at: float
    outcome: str
    """HTTP status as text, or the exception's name when no answer came."""


@dataclass
class ShutdownRecord:
    signal_at: float
    exit_after_s: float
    state: dict
    requests: list[Attempt]
    turns: dict[str, str]


@pytest.fixture(scope="module")
def shutdown(built_images, llm_stub) -> ShutdownRecord:
    """One Hive, stopped once with SIGTERM under traffic; the tests read the record."""
    hive = HiveServerContainer(llm_stub.get_url(), images.image_tags()["hive"]).start()
    try:
        return _stop_under_traffic(hive, llm_stub)
    finally:
        llm_stub.get_client().call("POST", "/admin/faults/reset")
        hive.stop()


def _stop_under_traffic(hive: HiveServerContainer, llm_stub) -> ShutdownRecord:
    api = HttpClient(hive.get_url(), timeout_s=GRACE_PERIOD_S + 10)
    sessions = [api.call("POST", "/api/sessions", {}).json["session_id"] for _ in range(SESSIONS)]
    llm_stub.get_client().call("PUT", "/admin/faults", {"first_token_delay_ms": SLOW_FIRST_TOKEN_MS})
    requests: list[Attempt] = []
    turns: dict[str, str] = {}
    signalled = threading.Event()

    def read_loop(route: str) -> None:
        for _ in range(500):  # bounded: the loop ends soon after the signal anyway
            sent_at = time.monotonic()
            try:
                outcome = str(api.request("GET", route).status)
            except OSError as error:
                outcome = type(error).__name__
            requests.append(Attempt(sent_at, outcome))
            if signalled.is_set():
                return

    def chat_turn(session_id: str) -> None:
        message = f"in flight at SIGTERM {uuid.uuid4().hex[:8]}"
        try:
            with SessionEventStream(hive.get_url(), session_id, GRACE_PERIOD_S + 10) as stream:
                sent_at = time.monotonic()
                posted = api.call("POST", f"/api/sessions/{session_id}/chat", {"message": message})
                requests.append(Attempt(sent_at, str(posted.status)))
                wait_for_reply(stream.events(), message)
                turns[session_id] = "replied"
        except (ReplyError, OSError) as error:
            turns[session_id] = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=read_loop, args=(route,)) for route in READ_ROUTES]
    threads += [threading.Thread(target=chat_turn, args=(session_id,)) for session_id in sessions]
    for thread in threads:
        thread.start()
    time.sleep(1.5)  # turns are waiting on the slow first token now; reads are flowing
    signal_at = time.monotonic()
    signalled.set()
    docker("kill", "--signal", "TERM", hive.get_container_id())
    exit_after_s = wait_for_exit(hive.get_container_id(), GRACE_PERIOD_S + 30)
    for thread in threads:
        thread.join(timeout=GRACE_PERIOD_S + 20)
    return ShutdownRecord(signal_at, exit_after_s, container_state(hive.get_container_id()), requests, turns)


def test_requests_accepted_before_sigterm_are_answered(shutdown: ShutdownRecord, record_property) -> None:
    accepted = [a for a in shutdown.requests if a.sent_at < shutdown.signal_at - ACCEPTED_MARGIN_S]
    assert len(accepted) >= 10, f"too little traffic before the signal to judge ({len(accepted)} requests)"
    record_property("requests_accepted_before_sigterm", len(accepted))
    unanswered = [a.outcome for a in accepted if not a.outcome.isdigit() or int(a.outcome) >= 500]
    assert not unanswered, f"{len(unanswered)} of {len(accepted)} accepted requests got no good answer: {unanswered[:5]}"


def test_exits_within_the_grace_period(shutdown: ShutdownRecord, record_property) -> None:
    record_property("exit_after_sigterm_s", round(shutdown.exit_after_s, 2))
    assert shutdown.exit_after_s < GRACE_PERIOD_S, f"exited {shutdown.exit_after_s:.1f} s after SIGTERM"


def test_exit_is_clean(shutdown: ShutdownRecord) -> None:
    state = shutdown.state
    assert (state["ExitCode"], state["OOMKilled"]) == (0, False), f"exit code {state['ExitCode']}, state {state}"


@pytest.mark.known_defect(
    "Hive 1.0.12 stops every session at SIGTERM ('All sessions stopped'): turns in flight are cancelled, "
    "their SSE streams stay open ~10 s and break without the reply")
def test_chat_turns_in_flight_are_finished(shutdown: ShutdownRecord, known_defect) -> None:
    def right() -> None:
        assert set(shutdown.turns.values()) == {"replied"}, shutdown.turns

    def today() -> None:
        assert len(shutdown.turns) == SESSIONS, shutdown.turns
        assert all(turn.startswith(STREAM_BROKE) for turn in shutdown.turns.values()), shutdown.turns

    known_defect.check(right, today)
