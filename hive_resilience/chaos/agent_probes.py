"""Chaos Toolkit probes that judge a fault by what a user of the agent feels.

The other probes look at Hive's routes and the tools server from outside; these send chat
messages that make Hive's queen run a conversation script (the LLM stub plays it: one tool
call, a chain, a failing tool...) and read the turn from Hive's own events, so an MCP or LLM
fault is measured where it matters: in the agent's replies and tool calls.

:func:`agent_turns` is the measurement every agent experiment shares: it plays a script a
few times and returns, as JSON an experiment's tolerance or a test can read, how many turns
replied, failed (Hive reported an error) or hung (nothing ended the turn within the bound),
and the per-reply and per-tool-call figures. Probes that check a stated promise play turns the
same way (:func:`measure_agent_turns`) and raise ``ActivityFailed`` naming the promise and the figures
(``promise '<name>' broken: <figures>``); when the promise holds they return the figures with
``"verdict": "held"``, which the experiment's tolerance checks
(``{type: regex, target: verdict, pattern: "^held$"}``).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from hive_resilience.chaos import controls
from hive_resilience.chaos.context import api_url, target_dir
from hive_resilience.clients import http_client
from hive_resilience.clients.agent_scripts import AgentScript, parse_script
from hive_resilience.clients.hive_conversation import (
    ChatTurn,
    ConversationError,
    HiveConversation,
    unique_message,
)
from hive_resilience.clients.hive_events import ReplyTimeout

__all__ = ["agent_turns", "api_answers_while_a_session_opens", "open_agent_session", "replies_as_scripted",
           "tool_calls_slower_by", "tool_error_then_plain_reply"]

REQUEST_TIMEOUT_S = 30.0
"""Bound of each plain HTTP call of the conversation (session create, chat post, delete)."""
PROMISE_REQUEST_TIMEOUT_S = 45.0
"""The same bound for promise probes: Hive's own 30 s MCP timeout (its http transport's httpx
client) plus a margin, so a session Hive delays on a slow tools server is measured, not cut off."""
TOOL_BASELINE_FILE = "agent-tool-baseline.json"
"""Where :func:`tool_calls_slower_by` keeps the run's baseline, in the run's report folder."""
HEALTH_POLL_S = 0.05
"""Pause between :func:`api_answers_while_a_session_opens`'s health calls: Hive's stall while a
session opens lasts one MCP round trip, at least some hundred milliseconds, so one call meets it."""
OPENED_SESSION_FILE = "agent-opened-session.json"
"""Where :func:`open_agent_session` leaves its session for the probe that takes it."""


@dataclass(frozen=True)
class AgentTurn:
    """One scripted turn as its user saw it."""

    outcome: str
    """``replied`` (a reply came), ``failed`` (Hive ended the turn with an error, or the message
    was not delivered) or ``hung`` (nothing ended the turn within the bound)."""
    reply_s: float
    tool_calls: int = 0
    tool_errors: int = 0
    tool_s: tuple[float, ...] = ()
    """Each completed tool call's duration by Hive's timestamps."""
    llm_calls: int = 0
    problem: str | None = None
    """Why the turn did not go as scripted (an error, a hang, a tool that failed when it should not)."""


@dataclass(frozen=True)
class AgentTurns:
    """Every turn one measurement played, and the counts experiments judge."""

    script: str
    turns: list[AgentTurn] = field(default_factory=list)
    sessions_s: list[float] = field(default_factory=list)
    """How long Hive took to create each session the measurement opened."""

    def count(self, outcome: str) -> int:
        return sum(turn.outcome == outcome for turn in self.turns)

    def as_json(self) -> dict:
        """What :func:`agent_turns` returns: counts, figures and the first problems seen."""
        replies_s = [turn.reply_s for turn in self.turns]
        tools_s = [seconds for turn in self.turns for seconds in turn.tool_s]
        return {
            "script": self.script,
            "turns": len(self.turns),
            "replied": self.count("replied"),
            "failed": self.count("failed"),
            "hung": self.count("hung"),
            "as_scripted": sum(turn.problem is None for turn in self.turns),
            "tool_calls": sum(turn.tool_calls for turn in self.turns),
            "tool_errors": sum(turn.tool_errors for turn in self.turns),
            "llm_calls": sum(turn.llm_calls for turn in self.turns),
            "reply_s_max": round(max(replies_s), 3) if replies_s else None,
            "reply_s_mean": round(sum(replies_s) / len(replies_s), 3) if replies_s else None,
            "tool_s_mean": round(sum(tools_s) / len(tools_s), 3) if tools_s else None,
            "session_s_max": round(max(self.sessions_s), 3) if self.sessions_s else None,
            "problems": [turn.problem for turn in self.turns if turn.problem][:3],
            "each": [asdict(turn) for turn in self.turns],
        }


def measure_agent_turns(configuration: Configuration, script: str = "one_tool", turns: int = 3,
                        reply_within_s: float = 60.0, same_session: bool = True) -> AgentTurns:
    """Play ``script`` ``turns`` times, each turn bounded by ``reply_within_s`` seconds.

    ``same_session`` sends every message in one session (a session must stay usable across
    the fault); otherwise each turn gets its own new session. Raises ``ActivityFailed`` when
    the script key is unknown or Hive gives no session at all.
    """
    return _measure(configuration, [script] * turns, reply_within_s, same_session, REQUEST_TIMEOUT_S)


def agent_turns(script: str = "one_tool", turns: int = 3, reply_within_s: float = 60.0, same_session: bool = True,
                configuration: Configuration = None) -> dict:
    """Play the conversation script ``script`` (``one_tool``, ``chain steps=3``, ``tool_fails``...)
    ``turns`` times through Hive's queen; returns the counts of turns ``replied`` / ``failed`` /
    ``hung`` (no end within ``reply_within_s`` s), ``as_scripted``, ``tool_calls``,
    ``tool_errors``, ``reply_s_max``, ``reply_s_mean``, ``tool_s_mean`` and each turn's figures."""
    return measure_agent_turns(configuration, script, turns, reply_within_s, same_session).as_json()


def replies_as_scripted(script: str = "one_tool", turns: int = 2, reply_within_s: float = 30.0,
                        same_session: bool = True, session_within_s: float = PROMISE_REQUEST_TIMEOUT_S,
                        configuration: Configuration = None) -> dict:
    """Promise "every turn replies as scripted": each of ``turns`` turns of ``script`` replied within
    ``reply_within_s`` s, its tool calls did what the script says (no tool error unless scripted),
    and each session came within ``session_within_s`` s. Returns the :func:`agent_turns` figures
    with ``verdict`` ``held``; raises ``ActivityFailed`` naming the promise and the figures."""
    promise = f"{script} replies as scripted"
    measured = measure_promise(promise, configuration, [script] * turns, reply_within_s, same_session)
    return judged_promise(promise, measured.as_json(), scripted_problem(measured, reply_within_s, session_within_s))


def tool_calls_slower_by(added_ms: float = 0.0, tolerance_ms: float = 100.0, turns: int = 5,
                         reply_within_s: float = 30.0, upper_tolerance_ms: float | None = None,
                         configuration: Configuration = None) -> dict:
    """Promise "tool calls get slower by the injected latency, and none fails".

    The first call in an experiment run records the baseline (``one_tool`` turns as scripted,
    their median tool-call seconds by Hive's timestamps) in the run's report folder; every later
    call plays ``turns`` more and holds their median tool-call time to baseline + ``added_ms``,
    at least ``tolerance_ms`` below and at most ``upper_tolerance_ms`` (default: ``tolerance_ms``)
    above: ``added_ms`` 0 after a rollback checks recovery. The median, since a loaded CPU
    stretches single calls by hundreds of milliseconds (measured 19 to 316 ms for the same call
    under the steady load). Returns the figures with ``tool_s_median``, ``baseline_tool_s``,
    ``added_ms_per_call`` and ``verdict`` ``held``.
    """
    promise = f"tool calls {added_ms:g} ms slower"
    measured = measure_promise(promise, configuration, ["one_tool"] * turns, reply_within_s, True)
    tools_s = [seconds for turn in measured.turns for seconds in turn.tool_s]
    figures = {**measured.as_json(), "tool_s_median": round(statistics.median(tools_s), 3) if tools_s else None}
    problem = scripted_problem(measured, reply_within_s)
    path = controls.current_run_dir(target_dir(configuration)) / TOOL_BASELINE_FILE
    if not path.is_file():
        if problem is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"tool_s_median": figures["tool_s_median"]}))
        return judged_promise(promise, {**figures, "baseline_tool_s": figures["tool_s_median"]}, problem)
    baseline_tool_s = json.loads(path.read_text())["tool_s_median"]
    added = added_latency_ms(baseline_tool_s, figures["tool_s_median"])
    figures = {**figures, "baseline_tool_s": baseline_tool_s, "added_ms_per_call": added}
    if problem is None and (problem := latency_problem(added, added_ms, tolerance_ms, upper_tolerance_ms)) is not None:
        problem += f" (each call took {', '.join(f'{seconds:.3f}' for seconds in tools_s)} s; baseline median {baseline_tool_s} s)"
    return judged_promise(promise, figures, problem)


def api_answers_while_a_session_opens(within_s: float = 1.0, configuration: Configuration = None) -> dict:
    """Promise "opening a session does not stall the rest of Hive": while one new session is
    created, ``GET /api/health`` is called every :data:`HEALTH_POLL_S` s, and each must answer
    within ``within_s`` s. Hive 1.0.12 calls its registered MCP server on its event loop while it
    creates a session, so with a slow tools path every other request waits for that round trip.
    Returns ``session_s``, ``health_calls``, ``health_max_s`` and ``verdict`` ``held``; bounded by
    the session's own request timeout."""
    promise = f"API answers within {within_s:g} s while a session opens"
    base = api_url(configuration)
    conversation = HiveConversation.blocking(base, timeout_s=PROMISE_REQUEST_TIMEOUT_S)
    measured = AgentTurns("session")
    opened: dict[str, str] = {}

    def open_session() -> None:
        try:
            opened["id"] = _new_session(conversation, measured)
        except NoSession as error:
            opened["error"] = str(error)

    opener = threading.Thread(target=open_session, name="opens-a-session", daemon=True)
    health_s: list[float] = []
    opener.start()
    try:
        while opener.is_alive():
            started = time.perf_counter()
            try:
                http_client.hive_call("GET", f"{base}/api/health", timeout_s=PROMISE_REQUEST_TIMEOUT_S)
            except OSError:
                pass  # a failed health call is timed like an answered one: the stall is what counts
            health_s.append(time.perf_counter() - started)
            time.sleep(HEALTH_POLL_S)
        opener.join()
    finally:
        _close(conversation, opened.get("id"))
    figures = {"session_s": measured.sessions_s[0] if measured.sessions_s else None, "health_calls": len(health_s),
               "health_max_s": round(max(health_s), 3) if health_s else None}
    problem = opened.get("error")
    if problem is None and figures["health_max_s"] is not None and figures["health_max_s"] > within_s:
        problem = (f"GET /api/health took {figures['health_max_s']:g} s while a session opened in "
                   f"{figures['session_s']:g} s (bound {within_s:g} s)")
    return judged_promise(promise, figures, problem)


def tool_error_then_plain_reply(within_s: float = 15.0, in_opened_session: bool = False,
                                configuration: Configuration = None) -> dict:
    """Promise "a conversation that needs a broken tool gets a clear tool error within ``within_s``
    seconds, and the same session still answers": one session plays ``one_tool`` (its tool
    call must end in a tool error and the turn must end within ``within_s`` s), then ``plain``
    (a reply, as scripted). ``in_opened_session`` plays them in the session
    :func:`open_agent_session` opened before the fault. Returns the figures with ``verdict`` ``held``."""
    promise = f"tool error within {within_s:g} s, session usable"
    session_id = _take_opened_session(configuration) if in_opened_session else None
    measured = measure_promise(promise, configuration, ["one_tool", "plain"], within_s, True, session_id)
    return judged_promise(promise, measured.as_json(), tool_error_problem(measured, within_s))


def open_agent_session(configuration: Configuration = None) -> str:
    """Action: open a session now, before the fault, for the next probe asked to play
    ``in_opened_session``; returns its id. While Hive's MCP server hangs, Hive 1.0.12 delays
    every new session by its 30 s MCP timeout, which would hide the tool call the probe judges."""
    conversation = HiveConversation.blocking(api_url(configuration), timeout_s=PROMISE_REQUEST_TIMEOUT_S)
    session_id = _new_session(conversation, AgentTurns("open"))
    path = controls.current_run_dir(target_dir(configuration)) / OPENED_SESSION_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(session_id))
    return session_id


def added_latency_ms(baseline_tool_s: float, tool_s: float | None) -> float | None:
    """Tool-call milliseconds added since the baseline; None when no tool call completed."""
    return None if tool_s is None else round((tool_s - baseline_tool_s) * 1000, 1)


def latency_problem(added_ms: float | None, expected_ms: float, tolerance_ms: float,
                    upper_tolerance_ms: float | None = None) -> str | None:
    """Why the added tool-call latency breaks "slower by ``expected_ms``, at most ``tolerance_ms``
    less and ``upper_tolerance_ms`` (default: ``tolerance_ms``) more", or None."""
    upper_ms = tolerance_ms if upper_tolerance_ms is None else upper_tolerance_ms
    if added_ms is None:
        return "no tool call completed"
    if not expected_ms - tolerance_ms <= added_ms <= expected_ms + upper_ms:
        bounds = f"+- {tolerance_ms:g}" if upper_ms == tolerance_ms else f"-{tolerance_ms:g} / +{upper_ms:g}"
        return f"tool calls {added_ms:g} ms slower, expected {expected_ms:g} {bounds} ms"
    return None


def scripted_problem(measured: AgentTurns, reply_within_s: float,
                     session_within_s: float = PROMISE_REQUEST_TIMEOUT_S) -> str | None:
    """Everything that keeps ``measured`` from "every turn replied as scripted, in time", or None."""
    problems = []
    slow_sessions = [seconds for seconds in measured.sessions_s if seconds > session_within_s]
    if slow_sessions:
        problems.append(f"a session took {max(slow_sessions):g} s to create (bound {session_within_s:g} s)")
    for number, turn in enumerate(measured.turns, 1):
        if turn.outcome != "replied" or turn.problem:
            problems.append(f"turn {number} {turn.outcome} after {turn.reply_s:g} s: {turn.problem}")
        elif turn.reply_s > reply_within_s:
            problems.append(f"turn {number} replied after {turn.reply_s:g} s (bound {reply_within_s:g} s)")
    return "; ".join(problems) or None


def tool_error_problem(measured: AgentTurns, within_s: float) -> str | None:
    """Why ``measured`` (a tool turn, then a plain one in the same session) breaks "clear tool
    error within ``within_s`` s, session still answers", or None."""
    tool_turn, plain_turn = measured.turns
    if tool_turn.outcome == "hung" or tool_turn.reply_s > within_s:
        return f"tool turn {tool_turn.outcome} after {tool_turn.reply_s:g} s (bound {within_s:g} s)"
    if tool_turn.tool_errors == 0:
        return f"tool turn {tool_turn.outcome} with {tool_turn.tool_calls} tool calls and no tool error"
    if plain_turn.outcome != "replied" or plain_turn.problem:
        return f"same session's plain turn {plain_turn.outcome} after {plain_turn.reply_s:g} s: {plain_turn.problem}"
    return None


def judged_promise(promise: str, figures: dict, problem: str | None) -> dict:
    """A promise probe's answer: ``ActivityFailed`` naming the promise and the problem when it
    broke, else the figures marked ``verdict: held`` for the experiment's tolerance."""
    if problem is not None:
        raise ActivityFailed(f"promise '{promise}' broken: {problem}")
    return {**figures, "promise": promise, "verdict": "held"}


def _take_opened_session(configuration: Configuration) -> str:
    path = controls.current_run_dir(target_dir(configuration)) / OPENED_SESSION_FILE
    if not path.is_file():
        raise ActivityFailed("no opened session: run the open_agent_session action before the fault")
    session_id = json.loads(path.read_text())
    path.unlink()
    return session_id


def measure_promise(promise: str, configuration: Configuration, scripts: Sequence[str], reply_within_s: float,
                    same_session: bool, session_id: str | None = None) -> AgentTurns:
    """:func:`_measure`, where a session Hive does not give breaks ``promise``."""
    try:
        return _measure(configuration, scripts, reply_within_s, same_session, PROMISE_REQUEST_TIMEOUT_S, session_id)
    except NoSession as error:
        raise ActivityFailed(f"promise '{promise}' broken: {error}") from None


def _measure(configuration: Configuration, scripts: Sequence[str], reply_within_s: float,
             same_session: bool, request_timeout_s: float, session_id: str | None = None) -> AgentTurns:
    """Play ``scripts`` in order, each turn bounded by ``reply_within_s`` s and each plain HTTP
    call by ``request_timeout_s`` s; the first in ``session_id`` when given (closed at the end)."""
    try:
        scripted = [parse_script(script) for script in scripts]
    except ValueError as error:
        raise ActivityFailed(f"unknown conversation script: {error}") from None
    conversation = HiveConversation.blocking(api_url(configuration), timeout_s=request_timeout_s)
    measured = AgentTurns(" then ".join(dict.fromkeys(script.key for script in scripted)))
    try:
        for script in scripted:
            if session_id is None or not same_session:
                _close(conversation, session_id)
                session_id = _new_session(conversation, measured)
            measured.turns.append(_play(conversation, session_id, script, reply_within_s))
    finally:
        _close(conversation, session_id)
    return measured


def _play(conversation: HiveConversation, session_id: str, script: AgentScript, reply_within_s: float) -> AgentTurn:
    try:
        turn = conversation.chat(session_id, f"{unique_message('chaos agent probe')} {script.directive}", reply_within_s)
    except ConversationError as error:
        return AgentTurn("failed", 0.0, problem=str(error))
    return _judged(turn, script)


def _judged(turn: ChatTurn, script: AgentScript) -> AgentTurn:
    figures = turn.figures
    calls = figures.tool_calls if figures else ()
    counts = {
        "tool_calls": len(calls),
        "tool_errors": sum(call.failed for call in calls),
        "tool_s": tuple(round(call.duration_s, 3) for call in calls if call.duration_s is not None),
        "llm_calls": figures.llm_calls if figures else 0,
    }
    if isinstance(turn.error, ReplyTimeout):
        return AgentTurn("hung", round(turn.reply_s, 3), problem=str(turn.error), **counts)
    if turn.error is not None:
        return AgentTurn("failed", round(turn.reply_s, 3), problem=str(turn.error), **counts)
    return AgentTurn("replied", round(turn.reply_s, 3), problem=script.problem(figures) if figures else None, **counts)


class NoSession(ActivityFailed):
    """Hive gave no new session, so no turn could be played."""


def _new_session(conversation: HiveConversation, measured: AgentTurns) -> str:
    started = time.perf_counter()
    try:
        session_id = conversation.create_session()
    except ConversationError as error:
        raise NoSession(f"Hive gave no new session after {time.perf_counter() - started:.1f} s: {error}") from None
    measured.sessions_s.append(round(time.perf_counter() - started, 3))
    return session_id


def _close(conversation: HiveConversation, session_id: str | None) -> None:
    """Stop the session; best effort, since a failing Hive must not hide the measurement."""
    if session_id is None:
        return
    try:
        conversation.delete_session(session_id)
    except ConversationError:
        pass
