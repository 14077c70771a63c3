"""Chaos Toolkit probes that judge a fault by what a user of the agent feels.

The other probes look at Hive's routes and the tools server from outside; these send chat
messages that make Hive's queen run a conversation script (the LLM stub plays it: one tool
call, a chain, a failing tool...) and read the turn from Hive's own events, so an MCP or LLM
fault is measured where it matters: in the agent's replies and tool calls.

:func:`agent_turns` is the measurement every agent experiment shares: it plays a script a
few times and returns, as JSON an experiment's tolerance or a test can read, how many turns
replied, failed (Hive reported an error) or hung (nothing ended the turn within the bound),
and the per-reply and per-tool-call figures. Probes that check a stated promise are built on
:func:`measure_agent_turns` and raise ``ActivityFailed`` naming the promise and the figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from hive_resilience.chaos.context import api_url
from hive_resilience.clients.agent_scripts import AgentScript, parse_script
from hive_resilience.clients.hive_conversation import (
    ChatTurn,
    ConversationError,
    HiveConversation,
    unique_message,
)
from hive_resilience.clients.hive_events import ReplyTimeout

__all__ = ["agent_turns"]

REQUEST_TIMEOUT_S = 30.0
"""Bound of each plain HTTP call of the conversation (session create, chat post, delete)."""


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
    try:
        scripted = parse_script(script)
    except ValueError as error:
        raise ActivityFailed(f"unknown conversation script: {error}") from None
    conversation = HiveConversation.blocking(api_url(configuration), timeout_s=REQUEST_TIMEOUT_S)
    measured = AgentTurns(scripted.key)
    session_id = None
    try:
        for _ in range(turns):
            if session_id is None or not same_session:
                _close(conversation, session_id)
                session_id = _new_session(conversation)
            measured.turns.append(_play(conversation, session_id, scripted, reply_within_s))
    finally:
        _close(conversation, session_id)
    return measured


def agent_turns(script: str = "one_tool", turns: int = 3, reply_within_s: float = 60.0, same_session: bool = True,
                configuration: Configuration = None) -> dict:
    """Play the conversation script ``script`` (``one_tool``, ``chain steps=3``, ``tool_fails``...)
    ``turns`` times through Hive's queen; returns the counts of turns ``replied`` / ``failed`` /
    ``hung`` (no end within ``reply_within_s`` s), ``as_scripted``, ``tool_calls``,
    ``tool_errors``, ``reply_s_max``, ``reply_s_mean``, ``tool_s_mean`` and each turn's figures."""
    return measure_agent_turns(configuration, script, turns, reply_within_s, same_session).as_json()


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


def _new_session(conversation: HiveConversation) -> str:
    try:
        return conversation.create_session()
    except ConversationError as error:
        raise ActivityFailed(f"Hive gave no new session: {error}") from None


def _close(conversation: HiveConversation, session_id: str | None) -> None:
    """Stop the session; best effort, since a failing Hive must not hide the measurement."""
    if session_id is None:
        return
    try:
        conversation.delete_session(session_id)
    except ConversationError:
        pass
