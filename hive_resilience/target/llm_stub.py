"""The OpenAI-compatible LLM provider stand-in: a scripted model, a paced one, a faulty one.

Hive reaches it through its own LiteLLM path (``provider: openai`` with an ``api_base``), so
the real request/response code of Hive runs; only the model is fake. Three things about it
change at run time, each through its own admin route, so a scenario or a chaos experiment
can set them without a restart:

**Conversation scripts** (``PUT /admin/scripts``). A directive in the user's message makes
the model call tools the way a real provider does (``tool_calls`` deltas with the arguments
in fragments, ``finish_reason: "tool_calls"``, a usage chunk, ``[DONE]``)::

    [[script:plain]]                      text only
    [[script:one_tool]]                   risk_score {}; tool=NAME args=JSON override it
    [[script:chain steps=3]]              three calls, each after the previous result
    [[script:parallel calls=2]]           two calls in one turn
    [[script:tool_fails]]                 risk_score with a wrongly typed argument: the tools
                                          server rejects it (Hive still reports is_error false)
    [[script:malformed_args]]             truncated JSON arguments: Hive retries the stream 5
                                          times backing off 2..32 s (~63 s), then parks the turn
    [[script:unknown_tool]]               a tool Hive does not have: Hive refuses it itself
    [[tool:risk_score {} && read_file {"path": "x"} -> risk_score {"dns_results": ""}]]
                                          explicit steps: ``&&`` calls in one turn, ``->`` next step

The last directive in the last user message wins: Hive prefixes the user's text with
``[YYYY-MM-DD HH:MM UTC]`` and merges reminders into the same user message. Without a
directive, a weighted mix (``{"mix": {"one_tool": 3, "plain": 1}, "seed": 7}``) picks the
script of each user message Hive stamped; the greeting turn (no stamped user message) and the
non-streaming title/reflection calls always get text. Progress is read from the conversation,
never from call counts: every run of ``role: "tool"`` messages after the user's message is one
step answered; when all are answered the model replies with text.

**Timing profiles** (``PUT /admin/profile``, ``--profile``): ``instant`` (the default, no
waiting), ``fast-hosted`` and ``slow-hosted``. Each call draws its time to first token
(lognormal from a median and a p90), its output speed (normal, clipped) and its reply length
(lognormal) from a seeded generator, and streams at that pace. The figures are approximate
public figures, rounded, from the Artificial Analysis LLM leaderboards
(https://artificialanalysis.ai/leaderboards/models, "time to first token" and "output speed"
of hosted API endpoints, 2025): small fast hosted models answer in ~0.3-0.5 s at ~100-200
tokens/s; large models take ~1-2 s to the first token at ~30-50 tokens/s.

**Provider faults** (``PUT /admin/faults``, the :class:`LlmFaults` knobs; healthy defaults,
see :mod:`hive_resilience.target.faults`): slow tokens, 429 with ``Retry-After`` (a share of
calls or a requests-per-minute budget), 500 and 503 shares, an outage, a hang (headers never
come for N s), a stream cut after some chunks, a context-length 400 — each in OpenAI's error
body shape, as the ``openai`` SDK expects it.

Plain replies quote the end of the user's message (:data:`REPLY_TEXT` then ``You said: ...``),
so a test can tell the reply to its own message from the queen's greeting.

Run it with ``python -m hive_resilience.target.llm_stub --port 8790 [--profile fast-hosted]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from aiohttp import web

from hive_resilience.target.faults import FaultAdmin, FaultSettings

REPLY_TEXT = "Hello from the hive-resilience LLM stub. Your message was received and handled."
QUOTE_CHARS = 60
MODEL_NAME = "fake-model"
PROFILE_ENV = "LLM_STUB_PROFILE"
"""The profile at start when ``--profile`` is not given (container images set it)."""
MAX_REQUEST_BYTES = 64 * 1024 * 1024
"""Hive sends ~100 kB of tool definitions and system prompt per call, more as a session grows."""
RECORDED_REQUESTS = 50
"""``GET /admin/requests`` keeps this many bodies (~100 kB each), newest last."""
REMEMBERED_TURNS = 10_000
"""How many user messages' mix draws are kept, so a turn's follow-up calls continue its script."""
ARGUMENT_FRAGMENTS = 2
"""Arguments are streamed in this many pieces, as providers do, so Hive must join them."""
FILLER_WORD = "lorem"
RATE_WINDOW_S = 60.0

USER_STAMP = re.compile(r"\[\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\]")
"""How Hive marks the user's own chat text; its greeting turn has no such user message."""
DIRECTIVE = re.compile(r"\[\[(script|tool):(.*?)\]\]", re.DOTALL)
SCRIPT_OPTION = re.compile(r"(\w+)=(\{.*?\}(?=\s+\w+=|\s*$)|\S+)", re.DOTALL)
"""``key=value`` pairs; a value starting with ``{`` may hold spaces and runs up to the next key."""
PARALLEL_SEPARATOR = "&&"
STEP_SEPARATOR = "->"


class ScriptError(ValueError):
    """A directive or a mix names an unknown script or gives it a bad option; the message says which."""


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str
    """Exactly the text the model sends, valid JSON or not."""


Steps = list[list[ToolCall]]
"""A script: steps taken one after another, each a list of calls made in the same turn."""

DEFAULT_TOOL = "risk_score"
"""The tools server's own pure tool: Hive has no in-process tool of that name to shadow it."""
FAILING_ARGUMENTS = '{"ssl_results": {"a": 1}}'
"""risk_score's arguments are strings: the server's validation rejects an object."""
TRUNCATED_ARGUMENTS = '{"ssl_results": '
UNKNOWN_TOOL = "no_such_tool"


def _one_tool(tool: str = DEFAULT_TOOL, args: str = "{}") -> Steps:
    return [[ToolCall(tool, args)]]


def _chain(steps: str = "2", tool: str = DEFAULT_TOOL, args: str = "{}") -> Steps:
    return [[ToolCall(tool, args)] for _ in range(_count(steps, "steps"))]


def _parallel(calls: str = "2", tool: str = DEFAULT_TOOL, args: str = "{}") -> Steps:
    return [[ToolCall(tool, args) for _ in range(_count(calls, "calls"))]]


SCRIPTS: dict[str, Callable[..., Steps]] = {
    "plain": list,
    "one_tool": _one_tool,
    "chain": _chain,
    "parallel": _parallel,
    "tool_fails": lambda tool=DEFAULT_TOOL: [[ToolCall(tool, FAILING_ARGUMENTS)]],
    "malformed_args": lambda tool=DEFAULT_TOOL: [[ToolCall(tool, TRUNCATED_ARGUMENTS)]],
    "unknown_tool": lambda tool=UNKNOWN_TOOL: [[ToolCall(tool, "{}")]],
}
"""Every script by name, as a function of its ``key=value`` options (strings)."""


def _count(value: str, key: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 20:
        raise ScriptError(f"{key} must be a whole number from 1 to 20, not {value!r}")
    return int(value)


def script_steps(name: str, options: dict[str, str] | None = None) -> Steps:
    """The steps of script ``name`` with its options; ScriptError names an unknown script or option."""
    if name not in SCRIPTS:
        raise ScriptError(f"unknown script {name!r}; known: {', '.join(SCRIPTS)}")
    try:
        return SCRIPTS[name](**(options or {}))
    except TypeError:
        raise ScriptError(f"script {name!r} does not take options {sorted(options or {})}") from None


def parse_directive(text: str) -> Steps | None:
    """The steps of the last directive in ``text``, or None when it has none.

    A directive that cannot be read becomes a plain reply rather than an error: the model's
    user is a load test, and a provider does not refuse a prompt for its wording.
    """
    directives = DIRECTIVE.findall(text)
    if not directives:
        return None
    form, body = directives[-1]
    if form == "tool":
        return [[_explicit_call(call) for call in step.split(PARALLEL_SEPARATOR)] for step in body.split(STEP_SEPARATOR)]
    name, _, option_text = body.strip().partition(" ")
    try:
        return script_steps(name, dict(SCRIPT_OPTION.findall(option_text)))
    except ScriptError:
        return []


def _explicit_call(text: str) -> ToolCall:
    name, _, arguments = text.strip().partition(" ")
    return ToolCall(name, arguments.strip() or "{}")


def message_text(content: object) -> str:
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def last_user_index(messages: list[dict]) -> int:
    return max((i for i, message in enumerate(messages) if message.get("role") == "user"), default=-1)


def steps_answered(messages: list[dict]) -> int:
    """Runs of ``role: "tool"`` messages after the last user message: the steps Hive has answered."""
    runs, previous = 0, None
    for message in messages[last_user_index(messages) + 1:]:
        role = message.get("role")
        runs += role == "tool" and previous != "tool"
        previous = role
    return runs


def next_step(steps: Steps, messages: list[dict]) -> list[ToolCall] | None:
    """The calls to make now, or None when every step is answered and the model should reply with text."""
    answered = steps_answered(messages)
    return steps[answered] if answered < len(steps) else None


@dataclass
class ScriptMix:
    """The weighted choice of a script for user messages without a directive; empty = always plain."""

    weights: dict[str, float] = field(default_factory=dict)
    seed: int | None = None

    def __post_init__(self) -> None:
        for name, weight in self.weights.items():
            script_steps(name)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                raise ScriptError(f"weight of {name!r} must be a number >= 0, not {weight!r}")
        if self.weights and not sum(self.weights.values()) > 0:
            raise ScriptError("the mix needs at least one weight above 0")
        self._random = random.Random(self.seed)
        self._chosen: OrderedDict[str, str] = OrderedDict()

    def script_for(self, user_text: str, turn_started: bool) -> str:
        """The script of this user message: drawn on its turn's first call, remembered for the rest."""
        if not self.weights or not USER_STAMP.search(user_text):
            return "plain"
        if turn_started:
            return self._chosen.get(user_text, "plain")
        name = self._random.choices(list(self.weights), weights=list(self.weights.values()))[0]
        self._chosen[user_text] = name
        self._chosen.move_to_end(user_text)
        while len(self._chosen) > REMEMBERED_TURNS:
            self._chosen.popitem(last=False)
        return name

    def describe(self) -> dict:
        return {"mix": self.weights, "seed": self.seed}


def conversation_steps(messages: list[dict], mix: ScriptMix) -> Steps:
    """The script of the conversation's last user message: its last directive, else the mix."""
    index = last_user_index(messages)
    if index < 0:
        return []
    user_text = message_text(messages[index].get("content"))
    steps = parse_directive(user_text)
    if steps is not None:
        return steps
    return script_steps(mix.script_for(user_text, turn_started=index < len(messages) - 1))


@dataclass(frozen=True)
class TimingProfile:
    """How fast a model answers: lognormal time to first token and reply length, normal output speed."""

    ttft_median_s: float
    ttft_p90_s: float
    tokens_per_s_mean: float
    tokens_per_s_sd: float
    reply_tokens_median: int
    reply_tokens_p90: int


@dataclass(frozen=True)
class CallTiming:
    """One call's draw from a profile."""

    ttft_s: float
    tokens_per_s: float
    reply_tokens: int


Z_P90 = 1.2815515655446004
"""The standard normal's 90th percentile: a lognormal's sigma is ln(p90 / median) / Z_P90."""
MIN_SPEED_SHARE = 0.2
"""Output speed is clipped at this share of the mean, so a draw never stalls a stream."""

PROFILES: dict[str, TimingProfile | None] = {
    "instant": None,
    "fast-hosted": TimingProfile(ttft_median_s=0.4, ttft_p90_s=0.8, tokens_per_s_mean=150, tokens_per_s_sd=30,
                                 reply_tokens_median=120, reply_tokens_p90=300),
    "slow-hosted": TimingProfile(ttft_median_s=1.5, ttft_p90_s=3.0, tokens_per_s_mean=40, tokens_per_s_sd=8,
                                 reply_tokens_median=120, reply_tokens_p90=300),
}
"""``instant`` answers at once with the fixed reply; see the module docstring for the figures' source."""


def draw_timing(profile: TimingProfile, rng: random.Random) -> CallTiming:
    """One call's time to first token, output speed and reply length, drawn from ``profile``."""

    def lognormal(median: float, p90: float) -> float:
        return rng.lognormvariate(math.log(median), math.log(p90 / median) / Z_P90)

    speed = max(rng.gauss(profile.tokens_per_s_mean, profile.tokens_per_s_sd), MIN_SPEED_SHARE * profile.tokens_per_s_mean)
    return CallTiming(
        ttft_s=lognormal(profile.ttft_median_s, profile.ttft_p90_s),
        tokens_per_s=speed,
        reply_tokens=max(1, round(lognormal(profile.reply_tokens_median, profile.reply_tokens_p90))),
    )


@dataclass
class ActiveProfile:
    """The profile in force and its seeded generator."""

    name: str = "instant"
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.name not in PROFILES:
            raise ScriptError(f"unknown timing profile {self.name!r}; known: {', '.join(PROFILES)}")
        self._random = random.Random(self.seed)

    def draw(self) -> CallTiming | None:
        profile = PROFILES[self.name]
        return draw_timing(profile, self._random) if profile else None

    def describe(self) -> dict:
        return {"name": self.name, "seed": self.seed}


@dataclass
class LlmFaults(FaultSettings):
    """What the stub does wrong right now; the defaults are a healthy provider."""

    first_token_delay_ms: float = 0.0
    token_delay_ms: float = 0.0
    failure_ratio: float = field(default=0.0, metadata={"max": 1})
    """Share of calls answered 503, as an overloaded provider does."""
    outage: bool = False
    """Every call answered 503."""
    server_error_ratio: float = field(default=0.0, metadata={"max": 1})
    """Share of calls answered 500."""
    rate_limit_ratio: float = field(default=0.0, metadata={"max": 1})
    """Share of calls answered 429."""
    rate_limit_rpm: float = 0.0
    """A requests-per-minute budget over a sliding minute, 429 beyond it; 0 = no limit."""
    retry_after_s: float = 1.0
    """The ``Retry-After`` of every 429."""
    hang_ratio: float = field(default=0.0, metadata={"max": 1})
    """Share of calls accepted and then left without a byte for ``hang_s`` (a client times out)."""
    hang_s: float = 60.0
    stream_cut_ratio: float = field(default=0.0, metadata={"max": 1})
    """Share of streamed replies whose connection is closed after ``stream_cut_after_chunks`` chunks."""
    stream_cut_after_chunks: float = 3.0
    context_length_ratio: float = field(default=0.0, metadata={"max": 1})
    """Share of calls answered 400 ``context_length_exceeded``."""


@dataclass
class CallCounts:
    """What the stub has served, so tests can prove that traffic reached the provider."""

    calls: int = 0
    streamed: int = 0
    failed: int = 0
    """Calls answered with an injected error, hang or cut."""
    tool_call_replies: int = 0
    """Streamed replies that asked for tool calls."""


class LlmStub:
    """The aiohttp application: chat completions, models, health and the admin endpoints."""

    def __init__(self, profile: ActiveProfile | None = None) -> None:
        self.admin = FaultAdmin(LlmFaults)
        self.counts = CallCounts()
        self.mix = ScriptMix()
        self.profile = profile or ActiveProfile()
        self.requests: deque[dict] = deque(maxlen=RECORDED_REQUESTS)
        self._rate_window: deque[float] = deque()
        self._random = random.Random()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.add_routes(
            [
                web.post("/v1/chat/completions", self.chat_completions),
                web.get("/v1/models", self.models),
                web.get("/health", self.health),
                web.get("/admin/stats", self.stats),
                web.get("/admin/requests", self.recorded),
                web.get("/admin/scripts", self.get_scripts),
                web.put("/admin/scripts", self.put_scripts),
                web.get("/admin/profile", self.get_profile),
                web.put("/admin/profile", self.put_profile),
                *self.admin.routes(),
            ]
        )
        return app

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def models(self, _: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL_NAME, "object": "model"}]})

    async def stats(self, _: web.Request) -> web.Response:
        return web.json_response(asdict(self.counts))

    async def recorded(self, _: web.Request) -> web.Response:
        return web.json_response(list(self.requests))

    async def get_scripts(self, _: web.Request) -> web.Response:
        return web.json_response(self.mix.describe())

    async def put_scripts(self, request: web.Request) -> web.Response:
        """``{"mix": {script: weight}, "seed": int}``; an empty mix means plain replies."""
        try:
            body = await _json_object(request, {"mix", "seed"})
            mix = body.get("mix") or {}
            if not isinstance(mix, dict):
                raise ScriptError("mix must be an object of script names and weights")
            self.mix = ScriptMix(mix, _seed(body))
        except (ScriptError, json.JSONDecodeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(self.mix.describe())

    async def get_profile(self, _: web.Request) -> web.Response:
        return web.json_response(self.profile.describe())

    async def put_profile(self, request: web.Request) -> web.Response:
        """``{"name": "slow-hosted", "seed": 1}``."""
        try:
            body = await _json_object(request, {"name", "seed"})
            self.profile = ActiveProfile(body.get("name", "instant"), _seed(body))
        except (ScriptError, json.JSONDecodeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(self.profile.describe())

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        self.counts.calls += 1
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _openai_error(400, "invalid_request_error", None, "We could not parse the JSON body of your request.")
        messages = body.get("messages") or []
        faults = self.admin.faults
        refused = self._injected_error(faults)
        if refused is not None:
            self.counts.failed += 1
            return refused
        if self._random.random() < faults.hang_ratio:
            self.counts.failed += 1
            await asyncio.sleep(faults.hang_s)
        streamed = bool(body.get("stream"))
        calls = next_step(conversation_steps(messages, self.mix), messages) if streamed else None
        self.requests.append({"received_at": time.time(), "answered_with": [c.name for c in calls or []], "body": body})
        timing = self.profile.draw()
        await asyncio.sleep(faults.first_token_delay_ms / 1000 + (timing.ttft_s if timing else 0))
        tokens = reply_tokens(messages, timing.reply_tokens if timing else None)
        token_pause_s = faults.token_delay_ms / 1000 + (1 / timing.tokens_per_s if timing else 0)
        if not streamed:
            await asyncio.sleep(token_pause_s * len(tokens))
            return web.json_response(_completion(tokens))
        self.counts.streamed += 1
        if calls:
            self.counts.tool_call_replies += 1
        deltas = calls_deltas(calls) if calls else text_deltas(tokens)
        cut_after = int(faults.stream_cut_after_chunks) if self._random.random() < faults.stream_cut_ratio else None
        if cut_after is not None:
            self.counts.failed += 1
        return await _stream(request, deltas, _usage(tokens), token_pause_s, cut_after)

    def _injected_error(self, faults: LlmFaults) -> web.Response | None:
        """The error answer a provider in this state gives, or None; the 429 budget counts every call."""
        now = time.monotonic()
        while self._rate_window and self._rate_window[0] <= now - RATE_WINDOW_S:
            self._rate_window.popleft()
        self._rate_window.append(now)
        over_budget = 0 < faults.rate_limit_rpm < len(self._rate_window)
        draw = self._random.random
        if faults.outage or draw() < faults.failure_ratio:
            return _openai_error(503, "server_error", None, "The engine is currently overloaded, please try again later. (injected fault)")
        if over_budget or draw() < faults.rate_limit_ratio:
            return _openai_error(429, "requests", "rate_limit_exceeded",
                                 f"Rate limit reached for {MODEL_NAME} on requests per min (RPM). (injected fault)",
                                 {"Retry-After": f"{faults.retry_after_s:g}"})
        if draw() < faults.server_error_ratio:
            return _openai_error(500, "server_error", None,
                                 "The server had an error while processing your request. Sorry about that! (injected fault)")
        if draw() < faults.context_length_ratio:
            return _openai_error(400, "invalid_request_error", "context_length_exceeded",
                                 "This model's maximum context length is 128000 tokens. However, your messages "
                                 "resulted in more tokens. Please reduce the length of the messages. (injected fault)")
        return None


async def _json_object(request: web.Request, allowed: set[str]) -> dict:
    body = await request.json()
    if not isinstance(body, dict):
        raise ScriptError("body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ScriptError(f"unknown keys {unknown}; allowed: {sorted(allowed)}")
    return body


def _seed(body: dict) -> int | None:
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ScriptError(f"seed must be a whole number, not {seed!r}")
    return seed


def reply_tokens(messages: list[dict], length_tokens: int | None = None) -> list[str]:
    """The reply, word by word: a fixed text that quotes the end of the last user message.

    Hive puts the user's own words at the end, after its reminders, so a browser test can
    tell the reply to its own message from an earlier one. A profile's ``length_tokens``
    pads the middle with filler; after tool results the reply says how many the turn had.
    """
    index = last_user_index(messages)
    quote = " ".join(message_text(messages[index].get("content")).split())[-QUOTE_CHARS:] if index >= 0 else ""
    tool_results = sum(1 for message in messages[index + 1:] if message.get("role") == "tool")
    head = REPLY_TEXT.split(" ")
    tail = f"You said: {quote}".split(" ") + ([f"Tool results received: {tool_results}."] if tool_results else [])
    filler = [FILLER_WORD] * max(0, (length_tokens or 0) - len(head) - len(tail))
    words = head + filler + " ".join(tail).split(" ")
    return [word + " " for word in words[:-1]] + words[-1:]


def text_deltas(tokens: list[str]) -> list[tuple[dict, str | None]]:
    return [({"role": "assistant", "content": ""}, None), *(({"content": token}, None) for token in tokens), ({}, "stop")]


def calls_deltas(calls: list[ToolCall]) -> list[tuple[dict, str | None]]:
    """Tool calls as providers stream them: an opening delta per call, then its argument fragments."""
    deltas: list[tuple[dict, str | None]] = []
    for index, call in enumerate(calls):
        opening = {"index": index, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                   "function": {"name": call.name, "arguments": ""}}
        delta = {"role": "assistant", "content": None, "tool_calls": [opening]} if index == 0 else {"tool_calls": [opening]}
        deltas.append((delta, None))
        size = max(1, -(-len(call.arguments) // ARGUMENT_FRAGMENTS))
        for start in range(0, len(call.arguments), size):
            deltas.append(({"tool_calls": [{"index": index, "function": {"arguments": call.arguments[start:start + size]}}]}, None))
    deltas.append(({}, "tool_calls"))
    return deltas


def _completion(tokens: list[str]) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_NAME,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(tokens)}, "finish_reason": "stop"}],
        "usage": _usage(tokens),
    }


async def _stream(request: web.Request, deltas: list[tuple[dict, str | None]], usage: dict, pause_s: float,
                  cut_after_chunks: int | None) -> web.StreamResponse:
    """Stream ``deltas`` ``pause_s`` apart; with ``cut_after_chunks``, drop the connection after that many."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def encode(choices: list[dict], extra: dict | None = None) -> bytes:
        payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_NAME,
                   "choices": choices, **(extra or {})}
        return f"data: {json.dumps(payload)}\n\n".encode()

    for sent, (delta, finish_reason) in enumerate(deltas):
        if sent == cut_after_chunks:
            # No terminating chunk: the client sees the connection end mid-body, as when a provider drops it.
            request.transport.close()
            return response
        if sent and pause_s:
            await asyncio.sleep(pause_s)
        await response.write(encode([{"index": 0, "delta": delta, "finish_reason": finish_reason}]))
    await response.write(encode([], {"usage": usage}))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def _usage(tokens: list[str]) -> dict:
    return {"prompt_tokens": 10, "completion_tokens": len(tokens), "total_tokens": 10 + len(tokens)}


def _openai_error(status: int, kind: str, code: str | None, message: str, headers: dict | None = None) -> web.Response:
    """OpenAI's error body, which the ``openai`` SDK and LiteLLM parse into typed errors."""
    return web.json_response({"error": {"message": message, "type": kind, "param": None, "code": code}},
                             status=status, headers=headers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible LLM stub: scripted tool calls, timing profiles, faults.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8790, help="port to bind (default 8790)")
    parser.add_argument("--profile", default=os.environ.get(PROFILE_ENV, "instant"),
                        help=f"timing profile: {', '.join(PROFILES)} (default instant; env {PROFILE_ENV})")
    parser.add_argument("--profile-seed", type=int, default=None, help="seed of the profile's draws (default: random)")
    args = parser.parse_args(argv)
    try:
        profile = ActiveProfile(args.profile, args.profile_seed)
    except ScriptError as error:
        parser.exit(2, f"llm_stub: {error}\n")
    web.run_app(LlmStub(profile).app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
