"""Chaos Toolkit probes that hold Hive to its promises while the LLM provider misbehaves.

The LLM stub answers like a real provider in trouble (429 with ``Retry-After``, a hang, a
stream cut mid-reply: :class:`~hive_resilience.target.llm_stub.LlmFaults`); these probes play
conversation turns through Hive's queen while it does, with
:mod:`hive_resilience.chaos.agent_probes`' measurement, and judge what the user felt:

- :func:`replies_delayed_not_lost`: a turn sent during a fault window that a background action
  ends gets its reply once the window is over, a bounded time late;
- :func:`turn_ends_within`: while the provider keeps failing, the turn still ends (Hive's
  error, or a reply after its retries) within a bound a user would wait; a turn still open
  then is a hang, whatever Hive is doing behind it;
- :func:`cut_replies_told`: while every reply stream is cut, a text turn and a tool turn each
  get an error or a retry in time; a reply shown with no retry can only be the cut text passed
  off as complete.

Each returns the measurement's figures with ``"verdict": "held"`` (the experiment's tolerance
reads it) or raises ``ActivityFailed("promise '<name>' broken: <figures>")``. The judgements
are plain functions of the measured turns, so tests check them without Hive.
"""

from __future__ import annotations

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from hive_resilience.chaos.agent_probes import (
    AgentTurn,
    AgentTurns,
    judged_promise,
    measure_promise,
    scripted_problem,
)
from hive_resilience.chaos.context import embedded_target
from hive_resilience.clients.agent_scripts import parse_script
from hive_resilience.target.faults import read_faults

__all__ = ["cut_replies_told", "replies_delayed_not_lost", "turn_ends_within"]

CUT_SCRIPTS = ("plain", "one_tool")
"""A text reply, whose cut can pass for a whole one, and a tool call, whose cut arguments cannot be parsed."""


def replies_delayed_not_lost(fault_window_s: float, late_by_s: float = 15.0, script: str = "one_tool",
                             configuration: Configuration = None) -> dict:
    """Promise "replies are delayed, not lost": one turn of ``script``, sent while the provider
    fails for ``fault_window_s`` more seconds (a background action ends the window), replies as
    scripted within ``fault_window_s`` + ``late_by_s`` seconds. Returns the figures with
    ``late_by_s_measured`` (how long after the window the reply came) and ``verdict`` ``held``."""
    promise = "replies are delayed, not lost"
    bound_s = fault_window_s + late_by_s
    measured = measure_promise(promise, configuration, [script], bound_s, True)
    figures = measured.as_json()
    late_by_s_measured = None if figures["reply_s_max"] is None else round(figures["reply_s_max"] - fault_window_s, 3)
    return judged_promise(promise, {**figures, "late_by_s_measured": late_by_s_measured},
                           scripted_problem(measured, bound_s))


def turn_ends_within(within_s: float = 30.0, script: str = "plain", configuration: Configuration = None) -> dict:
    """Promise "the user is told within ``within_s`` s, never a hang": while the provider keeps
    failing, one turn of ``script`` ends, with Hive's error or with a reply after its retries,
    within ``within_s`` seconds. Returns the figures with ``verdict`` ``held``."""
    promise = f"the user is told within {within_s:g} s, never a hang"
    measured = measure_promise(promise, configuration, [script], within_s, True)
    return judged_promise(promise, measured.as_json(), unended_problem(measured, within_s))


def cut_replies_told(within_s: float = 30.0, configuration: Configuration = None) -> dict:
    """Promise "a cut reply gets the user an error or a retry within ``within_s`` s": while the
    LLM stub cuts every reply stream (``stream_cut_ratio`` 1, checked first), a ``plain`` turn
    and a ``one_tool`` turn, each in a new session, end within ``within_s`` seconds, and neither
    replies without a retry: with every stream cut, such a reply is the cut text passed off as
    complete. Returns the figures with ``verdict`` ``held``."""
    cut_ratio = read_faults(embedded_target(configuration).llm_url)["stream_cut_ratio"]
    if cut_ratio < 1:
        raise ActivityFailed(f"cut_replies_told needs every LLM stream cut (stream_cut_ratio 1), not {cut_ratio:g}")
    promise = f"a cut reply gets an error or a retry within {within_s:g} s"
    measured = measure_promise(promise, configuration, list(CUT_SCRIPTS), within_s, False)
    return judged_promise(promise, measured.as_json(), cut_reply_problem(measured, within_s))


def cut_reply_problem(measured: AgentTurns, within_s: float) -> str | None:
    """Every way the :data:`CUT_SCRIPTS` turns of ``measured``, played while every stream was
    cut, break "an error or a retry within ``within_s`` s", joined; None when none does."""
    problems = []
    for number, (script, turn) in enumerate(zip(CUT_SCRIPTS, measured.turns, strict=True), 1):
        label = f"turn {number} ({script})"
        problem = _turn_unended(label, turn, within_s)
        if problem is None and turn.outcome == "replied" and turn.llm_calls <= _healthy_model_calls(script):
            problem = f"{label} replied after {turn.reply_s:g} s with no retry announced: the cut reply passed off as complete"
        if problem is not None:
            problems.append(problem)
    return "; ".join(problems) or None


def _healthy_model_calls(script: str) -> int:
    """Model calls a turn of ``script`` makes with no retry: one per tool call (one per step in
    :data:`CUT_SCRIPTS`), one for the text."""
    return parse_script(script).expected_tool_calls + 1


def unended_problem(measured: AgentTurns, within_s: float) -> str | None:
    """Why ``measured`` breaks "every turn ended within ``within_s`` s", or None.

    ``llm_calls`` of a turn still open counts the retries Hive announced (``node_retry``): the
    figure says whether the client was at least shown that Hive was retrying.
    """
    problems = (_turn_unended(f"turn {number}", turn, within_s) for number, turn in enumerate(measured.turns, 1))
    return next(filter(None, problems), None)


def _turn_unended(label: str, turn: AgentTurn, within_s: float) -> str | None:
    """Why the turn ``label`` did not end within ``within_s`` s, or None."""
    if turn.outcome == "hung":
        return f"{label} still open at the {within_s:g} s bound; Hive announced {turn.llm_calls} model calls or retries meanwhile"
    if turn.reply_s > within_s:
        return f"{label} {turn.outcome} after {turn.reply_s:g} s (bound {within_s:g} s)"
    return None
