"""Conversation scripts as a client asks for them, and what each must show in Hive's events.

The embedded target's LLM stub plays a script named by a directive in the user's message,
``[[script:NAME key=value ...]]``; its script table
(:data:`hive_resilience.target.llm_stub.SCRIPTS`) says which tool calls each script makes,
so a mix key (``one_tool``, ``chain steps=3``) is checked and its tool calls counted there.
This module asks for a script and judges the turn that played it.

The journey names a scripted reply is reported under live here too, since the load user
writes them and the run summary reads them back.

This module must stay free of Locust: scenario validation imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hive_resilience.clients.hive_conversation import ChatTurn
from hive_resilience.clients.hive_events import ToolCallFigures, TurnFigures
from hive_resilience.target.llm_stub import (
    SCRIPT_OPTION,
    SCRIPTS,
    ScriptError,
    script_steps,
)

TOOL_ERROR_SCRIPTS = frozenset({"tool_fails", "unknown_tool"})
"""Scripts whose tool call must fail: the tools server rejects the arguments, or Hive the tool."""
UNPARSEABLE_SCRIPTS = frozenset({"malformed_args"})
"""Scripts whose calls Hive cannot parse: it retries the model (about 63 s on 1.0.12) and answers
with its error text, running no tool."""
CHAT_REPLY_JOURNEY = "chat time-to-reply"
"""Every chat, scripted or not."""
REPLY_JOURNEY = "agent time-to-reply [{script}]"
FIRST_TOKEN_JOURNEY = "agent time-to-first-token"
TOOL_JOURNEY = "tool {tool}"
MODEL_TIME_JOURNEY = "agent time in model"
TOOLS_TIME_JOURNEY = "agent time in tools"
HIVE_TIME_JOURNEY = "agent time in Hive"
"""A whole scripted reply's time split three ways; per reply the three sum to its time-to-reply."""


@dataclass(frozen=True)
class AgentScript:
    """One script with its options, as a scenario's mix names it."""

    key: str
    """How the mix and the reports name it: ``one_tool``, ``chain steps=3``."""
    expected_tool_calls: int
    tool_error_expected: bool

    @property
    def directive(self) -> str:
        return f"[[script:{self.key}]]"

    def problem(self, figures: TurnFigures) -> str | None:
        """What is wrong with a turn that played this script, or None when it went as scripted.

        A failed tool counts whatever ``is_error`` Hive reported (see
        :func:`~hive_resilience.clients.hive_events.tool_result_failed`).
        """
        calls = figures.tool_calls
        if len(calls) != self.expected_tool_calls:
            return f"script {self.key}: expected {self.expected_tool_calls} tool calls, Hive ran {len(calls)}"
        problems = [problem for call in calls if (problem := self.tool_problem(call))]
        if problems:
            return f"script {self.key}: {problems[0]}"
        if calls and self.tool_error_expected and not any(call.failed for call in calls):
            return f"script {self.key}: expected a tool error, every tool call succeeded"
        return None

    def tool_problem(self, call: ToolCallFigures) -> str | None:
        """What is wrong with one tool call of this script's turn, or None."""
        if call.failed and not self.tool_error_expected:
            return f"tool {call.tool_name} failed: {call.error}"
        if call.duration_s is None and not call.failed:
            return f"tool {call.tool_name} never completed"
        return None


def parse_script(key: str) -> AgentScript:
    """The script a mix key names (``chain steps=3``); raises ValueError saying what is wrong."""
    name, _, option_text = " ".join(key.split()).partition(" ")
    if not name:
        raise ValueError(f"a script key names a script; scripts: {', '.join(SCRIPTS)}")
    try:
        steps = script_steps(name, dict(SCRIPT_OPTION.findall(option_text)))
    except ScriptError as error:
        raise ValueError(str(error)) from None
    tool_calls = 0 if name in UNPARSEABLE_SCRIPTS else sum(len(step) for step in steps)
    return AgentScript(" ".join(key.split()), tool_calls, name in TOOL_ERROR_SCRIPTS)


@dataclass(frozen=True)
class Journey:
    """One journey entry of a turn: its name, how long it took, and what went wrong, if anything."""

    name: str
    duration_s: float
    problem: str | None = None


def turn_journeys(turn: ChatTurn, script: AgentScript | None) -> list[Journey]:
    """The journeys one chat turn reports: ``chat time-to-reply`` always; with a script also its
    time-to-reply (failed when the turn did not go as scripted), the time to first token, each
    tool call, and, for a whole reply, its time in the model, in tools and in Hive."""
    problem = str(turn.error) if turn.error else None
    figures = turn.figures
    if problem is None and script is not None and figures is not None:
        problem = script.problem(figures)
    journeys = [Journey(CHAT_REPLY_JOURNEY, turn.reply_s, problem)]
    if script is None or figures is None:
        return journeys
    journeys.append(Journey(REPLY_JOURNEY.format(script=script.key), turn.reply_s, problem))
    journeys.append(Journey(FIRST_TOKEN_JOURNEY, turn.reply_s, "no reply text arrived") if figures.first_token_s is None
                    else Journey(FIRST_TOKEN_JOURNEY, figures.first_token_s))
    journeys += [Journey(TOOL_JOURNEY.format(tool=call.tool_name), call.duration_s or 0.0, script.tool_problem(call))
                 for call in figures.tool_calls]
    if turn.error is None:  # a turn cut short has no whole to split
        journeys += [Journey(MODEL_TIME_JOURNEY, figures.model_s), Journey(TOOLS_TIME_JOURNEY, figures.tools_s),
                     Journey(HIVE_TIME_JOURNEY, figures.hive_overhead_s(turn.reply_s))]
    return journeys
