"""The agent promise probes judge a measurement: baseline and compare, bounds, and the message a
broken promise gives. A fake measurement stands in for Hive."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed

from hive_resilience.chaos import agent_probes
from hive_resilience.chaos.agent_probes import AgentTurn, AgentTurns


def replied(reply_s: float = 0.5, tool_s: tuple[float, ...] = (0.015,), tool_errors: int = 0,
            problem: str | None = None) -> AgentTurn:
    return AgentTurn("replied", reply_s, tool_calls=len(tool_s), tool_errors=tool_errors, tool_s=tool_s, problem=problem)


@pytest.fixture
def measurements(monkeypatch, tmp_path) -> list[AgentTurns]:
    """What the next measurements return, in order; the run folder is ``tmp_path``."""
    queued: list[AgentTurns] = []
    monkeypatch.setattr(agent_probes, "_measure", lambda *args: queued.pop(0))
    return queued


def configuration(tmp_path: Path) -> dict:
    return {"target_dir": str(tmp_path)}


def test_the_first_latency_check_records_the_baseline_and_holds(measurements, tmp_path):
    measurements.append(AgentTurns("one_tool", [replied(tool_s=(0.01,)), replied(tool_s=(0.3,)), replied(tool_s=(0.02,))]))
    figures = agent_probes.tool_calls_slower_by(0, 100, configuration=configuration(tmp_path))
    assert figures["verdict"] == "held" and figures["baseline_tool_s"] == 0.02
    assert (tmp_path / agent_probes.TOOL_BASELINE_FILE).is_file()


def test_later_latency_checks_compare_the_median_tool_time_with_the_baseline(measurements, tmp_path):
    during = [replied(tool_s=(0.23,)), replied(tool_s=(0.9,)), replied(tool_s=(0.22,))]
    measurements += [AgentTurns("one_tool", [replied(tool_s=(0.02,))]), AgentTurns("one_tool", during)]
    agent_probes.tool_calls_slower_by(0, 100, configuration=configuration(tmp_path))
    figures = agent_probes.tool_calls_slower_by(200, 100, configuration=configuration(tmp_path))
    assert figures["added_ms_per_call"] == 210.0 and figures["verdict"] == "held"


def test_latency_outside_the_tolerance_breaks_the_promise_with_its_figures(measurements, tmp_path):
    measurements += [AgentTurns("one_tool", [replied(tool_s=(0.02,))]), AgentTurns("one_tool", [replied(tool_s=(0.52,))])]
    agent_probes.tool_calls_slower_by(0, 100, configuration=configuration(tmp_path))
    with pytest.raises(ActivityFailed, match=r"^promise 'tool calls 200 ms slower' broken: tool calls 500 ms slower, "
                                             r"expected 200 \+- 100 ms \(each call took 0\.520 s; baseline median 0\.02 s\)$"):
        agent_probes.tool_calls_slower_by(200, 100, configuration=configuration(tmp_path))


def test_a_failed_tool_call_breaks_the_latency_promise_and_records_no_baseline(measurements, tmp_path):
    measurements.append(AgentTurns("one_tool", [replied(tool_errors=1, problem="tool risk_score failed: gone")]))
    with pytest.raises(ActivityFailed, match="promise 'tool calls 0 ms slower' broken: turn 1 replied after 0.5 s: "
                                             "tool risk_score failed: gone"):
        agent_probes.tool_calls_slower_by(0, 100, configuration=configuration(tmp_path))
    assert not (tmp_path / agent_probes.TOOL_BASELINE_FILE).exists()


@pytest.mark.parametrize(("added_ms", "problem"), [
    (None, "no tool call completed"),
    (120.0, "tool calls 120 ms slower, expected 0 +- 100 ms"),
    (-101.0, "tool calls -101 ms slower, expected 0 +- 100 ms"),
])
def test_latency_problem_names_what_is_off(added_ms, problem):
    assert agent_probes.latency_problem(added_ms, 0, 100) == problem


def test_latency_within_the_tolerance_is_no_problem():
    assert agent_probes.latency_problem(99.9, 0, 100) is None


def test_an_upper_tolerance_widens_only_the_upper_bound():
    assert agent_probes.latency_problem(1400.0, 500, 150, 1000) is None
    assert agent_probes.latency_problem(349.0, 500, 150, 1000) == "tool calls 349 ms slower, expected 500 -150 / +1000 ms"
    assert agent_probes.latency_problem(1501.0, 500, 150, 1000) == "tool calls 1501 ms slower, expected 500 -150 / +1000 ms"


def test_the_latency_probe_passes_its_upper_tolerance_on(measurements, tmp_path):
    measurements += [AgentTurns("one_tool", [replied(tool_s=(0.02,))]), AgentTurns("one_tool", [replied(tool_s=(1.2,))])]
    agent_probes.tool_calls_slower_by(0, 150, configuration=configuration(tmp_path))
    figures = agent_probes.tool_calls_slower_by(500, 150, upper_tolerance_ms=1000, configuration=configuration(tmp_path))
    assert figures["added_ms_per_call"] == 1180.0 and figures["verdict"] == "held"


class StallingHive(ThreadingHTTPServer):
    """Hive's two routes the responsiveness probe uses, with Hive 1.0.12's flaw on demand: while
    a session is being created (``creation_s``), ``GET /api/health`` waits for it to finish."""

    def __init__(self, creation_s: float, stall: bool) -> None:
        self.creation_s, self.stall = creation_s, stall
        self.loop = threading.Lock()  # held by a creation when it stalls everything, like a blocked event loop
        super().__init__(("127.0.0.1", 0), StallingHiveHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class StallingHiveHandler(BaseHTTPRequestHandler):
    server: StallingHive

    def log_message(self, *_: object) -> None:
        pass

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.server.stall:
            with self.server.loop:
                time.sleep(self.server.creation_s)
        else:
            time.sleep(self.server.creation_s)
        self.answer(201, {"session_id": "session-1"})

    def do_GET(self) -> None:
        with self.server.loop:
            self.answer(200, {"status": "ok"})

    def do_DELETE(self) -> None:
        self.answer(200, {"stopped": True})


@pytest.fixture
def stalling_hive(request):
    server = StallingHive(*request.param)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("stalling_hive", [(0.6, True)], indirect=True)
def test_an_api_that_stalls_while_a_session_opens_breaks_the_promise(stalling_hive):
    with pytest.raises(ActivityFailed, match=r"^promise 'API answers within 0.3 s while a session opens' broken: "
                                             r"GET /api/health took 0\.[5-9]\d* s while a session opened in 0\.6\d* s"):
        agent_probes.api_answers_while_a_session_opens(0.3, {"hive_api_url": stalling_hive.url})


@pytest.mark.parametrize("stalling_hive", [(0.6, False)], indirect=True)
def test_an_api_that_answers_while_a_session_opens_holds(stalling_hive):
    figures = agent_probes.api_answers_while_a_session_opens(0.3, {"hive_api_url": stalling_hive.url})
    assert figures["verdict"] == "held" and figures["health_calls"] >= 3 and figures["health_max_s"] < 0.3


def test_a_clear_tool_error_then_a_plain_reply_holds(measurements, tmp_path):
    measurements.append(AgentTurns("one_tool then plain", [replied(tool_errors=1, problem="tool failed"), replied(tool_s=())]))
    figures = agent_probes.tool_error_then_plain_reply(15, configuration=configuration(tmp_path))
    assert figures["verdict"] == "held" and figures["promise"] == "tool error within 15 s, session usable"


@pytest.mark.parametrize(("tool_turn", "plain_turn", "problem"), [
    (AgentTurn("hung", 15.0, problem="no reply"), replied(tool_s=()), "tool turn hung after 15 s (bound 15 s)"),
    (replied(reply_s=31.2, tool_errors=1), replied(tool_s=()), "tool turn replied after 31.2 s (bound 15 s)"),
    (replied(), replied(tool_s=()), "tool turn replied with 1 tool calls and no tool error"),
    (replied(tool_errors=1), AgentTurn("failed", 2.0, problem="error event"),
     "same session's plain turn failed after 2 s: error event"),
])
def test_the_tool_error_promise_breaks_on_a_hang_a_slow_error_a_silent_tool_or_a_dead_session(tool_turn, plain_turn,
                                                                                               problem):
    assert agent_probes.tool_error_problem(AgentTurns("one_tool then plain", [tool_turn, plain_turn]), 15) == problem


def test_a_slow_session_breaks_replies_as_scripted_with_its_time(measurements, tmp_path):
    measurements.append(AgentTurns("plain", [replied(tool_s=())], sessions_s=[30.21]))
    with pytest.raises(ActivityFailed, match=r"^promise 'plain replies as scripted' broken: "
                                             r"a session took 30.21 s to create \(bound 5 s\)$"):
        agent_probes.replies_as_scripted("plain", 1, 15, session_within_s=5, configuration=configuration(tmp_path))


def test_replies_as_scripted_names_every_problem_it_saw():
    measured = AgentTurns("plain", [AgentTurn("failed", 0.0, problem="POST chat: timed out")], sessions_s=[30.9])
    assert agent_probes.scripted_problem(measured, 15, 5) == ("a session took 30.9 s to create (bound 5 s); "
                                                              "turn 1 failed after 0 s: POST chat: timed out")


def test_a_late_reply_breaks_replies_as_scripted():
    measured = AgentTurns("one_tool", [replied(), replied(reply_s=20.5)], [0.1])
    assert agent_probes.scripted_problem(measured, 15) == "turn 2 replied after 20.5 s (bound 15 s)"


def test_turns_as_scripted_in_time_hold_replies_as_scripted(measurements, tmp_path):
    measurements.append(AgentTurns("one_tool", [replied(), replied()], [0.2]))
    figures = agent_probes.replies_as_scripted(configuration=configuration(tmp_path))
    assert figures["verdict"] == "held" and figures["session_s_max"] == 0.2 and figures["tool_calls"] == 2


def test_no_session_from_hive_breaks_the_promise(monkeypatch, tmp_path):
    def no_session(*args):
        raise agent_probes.NoSession("Hive gave no new session after 45.0 s: POST /api/sessions: timed out")

    monkeypatch.setattr(agent_probes, "_measure", no_session)
    with pytest.raises(ActivityFailed, match="^promise 'plain replies as scripted' broken: Hive gave no new session"):
        agent_probes.replies_as_scripted("plain", configuration=configuration(tmp_path))


def test_the_tool_error_turn_plays_in_the_session_opened_before_the_fault(monkeypatch, tmp_path):
    (tmp_path / agent_probes.OPENED_SESSION_FILE).write_text('"session_before"')
    sessions = []

    def measure(*args):
        sessions.append(args[-1])
        return AgentTurns("one_tool then plain", [replied(tool_errors=1), replied(tool_s=())])

    monkeypatch.setattr(agent_probes, "_measure", measure)
    agent_probes.tool_error_then_plain_reply(45, in_opened_session=True, configuration=configuration(tmp_path))
    assert sessions == ["session_before"] and not (tmp_path / agent_probes.OPENED_SESSION_FILE).exists()


def test_without_an_opened_session_the_probe_names_the_action_to_run_first(tmp_path):
    with pytest.raises(ActivityFailed, match="run the open_agent_session action before the fault"):
        agent_probes.tool_error_then_plain_reply(45, in_opened_session=True, configuration=configuration(tmp_path))
