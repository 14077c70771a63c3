"""Chaos Toolkit probes: what Hive looks like from its users' side.

Each probe returns a value for the experiment's tolerance to judge; probes that measure
something with a budget (a reply, a recovery) raise ``ActivityFailed`` with a message an
operator can act on when the budget is blown.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from hive_resilience.chaos import controls
from hive_resilience.chaos.context import api_url, embedded_target, mcp_url, target_dir
from hive_resilience.clients import http_client
from hive_resilience.clients.hive_conversation import (
    ConversationError,
    HiveConversation,
    unique_message,
)
from hive_resilience.clients.hive_events import ReplyError
from hive_resilience.clients.mcp_client import McpClient
from hive_resilience.clients.mcp_protocol import McpError
from hive_resilience.loadrun.latency import RequestTally
from hive_resilience.loadrun.request_log import read_request_log, window_figures
from hive_resilience.loadrun.run import RunError, RunRequest, run
from hive_resilience.loadrun.scenario import ScenarioError

__all__ = [
    "api_healthy",
    "chat_reports_llm_error",
    "load_error_ratio_within_budget",
    "mcp_tools_listed",
    "non_llm_routes_answer",
    "session_round_trip",
    "sessions_lost",
    "slo_holds_under_burst",
    "time_to_recover",
    "tool_call_added_latency_ms",
    "tool_call_latency_ms",
    "tool_calls_degraded",
]

RECORDED_SESSIONS_FILE = "recorded-sessions.json"
POLL_INTERVAL_S = 0.2


def api_healthy(timeout_s: float = 5.0, configuration: Configuration = None) -> bool:
    """Returns True when ``GET /api/health`` answers 200 JSON with status ok within ``timeout_s`` seconds."""
    try:
        answer = http_client.hive_call("GET", f"{api_url(configuration)}/api/health", timeout_s=timeout_s)
    except OSError:
        return False
    return answer.status == 200 and (answer.json or {}).get("status") == "ok"


def mcp_tools_listed(timeout_s: float = 10.0, configuration: Configuration = None, *,
                     reconnect_within_s: float = 0.0) -> int:
    """Returns how many tools a fresh MCP session lists; 0 when the tools server does not answer
    within ``timeout_s`` seconds.

    ``reconnect_within_s`` plays a client that reconnects after losing its server (as Hive's
    MCP client does): fresh sessions are tried until then, so a replica that took over counts.
    """
    deadline = time.monotonic() + reconnect_within_s
    while True:
        try:
            with McpClient(mcp_url(configuration), timeout_s=timeout_s) as client:
                return len(client.list_tools())
        except McpError:
            if time.monotonic() >= deadline:
                return 0
            time.sleep(0.25)


def session_round_trip(reply_within_s: float = 15.0, configuration: Configuration = None) -> float:
    """Create a session, chat, wait for the reply, delete; returns the seconds the reply took,
    fails when it takes over ``reply_within_s`` seconds."""
    conversation = _conversation(configuration)
    session_id = _create_session(conversation)
    try:
        return _chat(conversation, session_id, reply_within_s)
    finally:
        _quietly(conversation.delete_session, session_id)


def sessions_lost(count: int = 3, configuration: Configuration = None) -> int:
    """How many conversations Hive lost across the fault (the RPO promise); 0 is the goal.

    Its first call in an experiment run creates ``count`` sessions with one exchanged message
    each, records their ids in the run's report folder and returns 0; every later call checks
    that each recorded session is still there with its messages (live or restored from disk)
    and returns how many are not.
    """
    path = controls.current_run_dir(target_dir(configuration)) / RECORDED_SESSIONS_FILE
    base = api_url(configuration)
    if not path.is_file():
        session_ids = []
        conversation = _conversation(configuration)
        for _ in range(count):
            session_ids.append(_create_session(conversation))
            _chat(conversation, session_ids[-1], 30.0)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(session_ids))
        return 0
    lost = 0
    for session_id in json.loads(path.read_text()):
        try:
            detail = http_client.hive_call("GET", f"{base}/api/sessions/{session_id}").json or {}
        except OSError as error:
            raise ActivityFailed(f"Hive API unreachable while checking sessions: {error}") from None
        if detail.get("session_id") != session_id or not detail.get("has_messages"):
            lost += 1
    return lost


def time_to_recover(component: str = "hive-api", budget_s: float = 30.0, configuration: Configuration = None) -> float:
    """Poll until ``component`` serves again; returns the seconds it took, fails past ``budget_s``."""
    checks = {
        "hive-api": lambda: api_healthy(2.0, configuration),
        "tools": lambda: mcp_tools_listed(2.0, configuration=configuration) > 0,
        "llm-stub": lambda: _answers(f"{embedded_target(configuration).llm_url}/health"),
    }
    if component not in checks:
        raise ActivityFailed(f"unknown component {component!r}; known: {', '.join(checks)}")
    started = time.monotonic()
    while time.monotonic() - started < budget_s:
        if checks[component]():
            return round(time.monotonic() - started, 3)
        time.sleep(POLL_INTERVAL_S)
    raise ActivityFailed(f"{component} did not recover within the {budget_s:g} s budget")


def non_llm_routes_answer(configuration: Configuration = None) -> bool:
    """Returns True when health, the session list and a session's detail answer JSON without a 5xx."""
    base = api_url(configuration)
    try:
        answers = [http_client.hive_call("GET", f"{base}/api/health"), http_client.hive_call("GET", f"{base}/api/sessions")]
        created = http_client.hive_call("POST", f"{base}/api/sessions", {}, timeout_s=30)
        answers.append(created)
        if created.status == 201:
            session_id = created.json["session_id"]
            answers.append(http_client.hive_call("GET", f"{base}/api/sessions/{session_id}"))
            answers.append(http_client.hive_call("DELETE", f"{base}/api/sessions/{session_id}"))
    except OSError:
        return False
    return all(answer.status < 500 and answer.json is not None for answer in answers)


def chat_reports_llm_error(within_s: float = 30.0, configuration: Configuration = None) -> str:
    """Chat while the LLM fails: Hive must tell the client (an error event), not hang silently.

    Returns the error text Hive streamed; fails when a reply arrives anyway or nothing is
    said within ``within_s``.
    """
    conversation = _conversation(configuration)
    session_id = _create_session(conversation)
    try:
        error_text = conversation.chat_until_error(session_id, unique_message("chaos probe"), within_s)
    except ReplyError as error:
        raise ActivityFailed(f"no error reached the client: {error}") from None
    except ConversationError as error:
        raise ActivityFailed(str(error)) from None
    finally:
        _quietly(conversation.delete_session, session_id)
    if error_text is None:
        raise ActivityFailed("the turn ended normally although the LLM is failing")
    return error_text


def tool_call_latency_ms(samples: int = 20, timeout_s: float = 10.0, direct: bool = False,
                         configuration: Configuration = None) -> dict:
    """Call ``tools/call get_current_time`` ``samples`` times over one MCP session, each given
    ``timeout_s`` seconds. Returns ``p50_ms``, ``p95_ms``, ``failures`` and ``samples``.

    ``direct`` bypasses the embedded target's fault proxy, to measure what the proxy adds.
    """
    if direct:
        target = embedded_target(configuration)
        if not target.state.fault_proxy:
            raise ActivityFailed("the embedded target runs without the fault proxy; start it with fault_proxy")
        url = f"http://127.0.0.1:{target.ports.mcp_upstream}"
    else:
        url = mcp_url(configuration)
    answered, failures = RequestTally(), 0
    client = McpClient(url, timeout_s=timeout_s)
    try:
        for _ in range(samples):
            started = time.perf_counter()
            try:
                client.call_tool("get_current_time", {"timezone": "UTC"})
                answered.record((time.perf_counter() - started) * 1000, failed=False)
            except McpError:
                failures += 1
    finally:
        _quietly(client.close)
    return {"p50_ms": answered.percentile_ms(50), "p95_ms": answered.percentile_ms(95),
            "failures": failures, "samples": samples}


def tool_call_added_latency_ms(samples: int = 20, configuration: Configuration = None) -> float:
    """Returns the median tool-call latency through the fault proxy minus straight to the tools
    server, in milliseconds, over ``samples`` calls each way."""
    through = tool_call_latency_ms(samples, configuration=configuration)["p50_ms"]
    direct = tool_call_latency_ms(samples, direct=True, configuration=configuration)["p50_ms"]
    if through is None or direct is None:
        raise ActivityFailed("tool calls failed, so the added latency cannot be measured")
    return round(through - direct, 1)


def tool_calls_degraded(samples: int = 10, slower_than_ms: float = 100.0, timeout_s: float = 5.0,
                        configuration: Configuration = None) -> bool:
    """Returns True when some of ``samples`` tool calls failed (or took over ``timeout_s``
    seconds) or their p95 is above ``slower_than_ms``."""
    figures = tool_call_latency_ms(samples, timeout_s=timeout_s, configuration=configuration)
    return figures["failures"] > 0 or (figures["p95_ms"] or 0) > slower_than_ms


def slo_holds_under_burst(scenario: str = "burst", duration: str = "15s", configuration: Configuration = None) -> bool:
    """Run a short, bounded burst of the load users against the target: ``scenario`` names the
    scenario, ``duration`` how long (Locust syntax, ``15s``). Returns True when every SLO held."""
    request = RunRequest(scenario, host=api_url(configuration), mcp_host=mcp_url(configuration), duration=duration,
                         reports_dir=Path("reports") / "chaos-bursts")
    try:
        return run(request) == 0
    except (RunError, ScenarioError) as error:
        raise ActivityFailed(f"the load burst could not run: {error}") from None


def load_error_ratio_within_budget(window_s: float = 10.0, configuration: Configuration = None, *,
                                   count_replies: bool = False) -> bool:
    """Safeguard probe: the background load's error ratio over the last ``window_s`` seconds
    stays within ``blast_radius_error_ratio`` from the configuration (default 0.5).

    With ``count_replies`` a chat whose reply never came counts as a failed request too: the
    measure of a promise like "a deploy is invisible to users". Returns True within the budget
    (or before any load ran).
    """
    log_path = controls.current_request_log()
    if log_path is None or not log_path.is_file():
        return True
    budget = float((configuration or {}).get("blast_radius_error_ratio", 0.5))
    now = time.time()
    figures = window_figures(read_request_log(log_path), now - window_s, now)
    if count_replies:
        total = figures["requests"] + figures["replies"]
        failed = figures["failures"] + figures["reply_failures"]
        return total == 0 or failed / total <= budget
    return figures["error_ratio"] is None or figures["error_ratio"] <= budget


def _conversation(configuration: Configuration) -> HiveConversation:
    return HiveConversation.blocking(api_url(configuration), timeout_s=30)


def _create_session(conversation: HiveConversation) -> str:
    try:
        return conversation.create_session()
    except ConversationError as error:
        raise ActivityFailed(f"Hive gave no new session: {error}") from None


def _chat(conversation: HiveConversation, session_id: str, reply_within_s: float) -> float:
    """Seconds from the chat being delivered to the reply; fails past ``reply_within_s``."""
    try:
        turn = conversation.chat(session_id, unique_message("chaos probe"), reply_within_s)
    except ConversationError as error:
        raise ActivityFailed(str(error)) from None
    if turn.error is not None:
        raise ActivityFailed(f"no reply within {reply_within_s:g} s: {turn.error}")
    return round(turn.reply_s, 3)


def _answers(url: str) -> bool:
    try:
        return http_client.call("GET", url, timeout_s=2).status == 200
    except OSError:
        return False


def _quietly(function, *args) -> None:
    """Best-effort clean-up that must not hide the probe's own result."""
    try:
        function(*args)
    except (OSError, McpError, ConversationError):
        pass
