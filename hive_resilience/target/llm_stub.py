"""An OpenAI-compatible LLM provider stub that doubles as a fault injector.

Hive reaches it through its own LiteLLM path (``provider: openai`` with an ``api_base``), so
the real request/response code of Hive runs; only the model is fake. Its faults (slow first
token, slow tokens, a failing share of calls, a hard outage) are changed at run time through
``/admin/faults`` (see :mod:`hive_resilience.target.faults`) so chaos experiments can make the provider slow or broken and restore it.

Run it with ``python -m hive_resilience.target.llm_stub --port 8790``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from dataclasses import asdict, dataclass, field

from aiohttp import web

from hive_resilience.target.faults import FaultAdmin, FaultSettings

REPLY_TEXT = "Hello from the hive-resilience LLM stub. Your message was received and handled."
QUOTE_CHARS = 60
MODEL_NAME = "fake-model"


@dataclass
class LlmFaults(FaultSettings):
    """What the stub does wrong right now; the defaults are a healthy provider."""

    first_token_delay_ms: float = 0.0
    token_delay_ms: float = 0.0
    failure_ratio: float = field(default=0.0, metadata={"max": 1})
    outage: bool = False


@dataclass
class CallCounts:
    """What the stub has served, so tests can prove that traffic reached the provider."""

    calls: int = 0
    streamed: int = 0
    failed: int = 0


class LlmStub:
    """The aiohttp application: chat completions, models, health and the admin endpoints."""

    def __init__(self) -> None:
        self.admin = FaultAdmin(LlmFaults)
        self.counts = CallCounts()

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.post("/v1/chat/completions", self.chat_completions),
                web.get("/v1/models", self.models),
                web.get("/health", self.health),
                web.get("/admin/stats", self.stats),
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

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        self.counts.calls += 1
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _openai_error(400, "invalid_request_error", "request body is not JSON")
        faults = self.admin.faults
        if faults.outage or random.random() < faults.failure_ratio:
            self.counts.failed += 1
            return _openai_error(503, "server_error", "the LLM provider is unavailable (injected fault)")
        await asyncio.sleep(faults.first_token_delay_ms / 1000)
        tokens = reply_tokens(body.get("messages") or [])
        if body.get("stream"):
            self.counts.streamed += 1
            return await self._stream(request, tokens, faults.token_delay_ms)
        await asyncio.sleep(faults.token_delay_ms * len(tokens) / 1000)
        return web.json_response(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": MODEL_NAME,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(tokens)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": _usage(tokens),
            }
        )

    async def _stream(self, request: web.Request, tokens: list[str], token_delay_ms: float) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())

        def chunk(delta: dict, finish_reason: str | None, usage: dict | None = None) -> bytes:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL_NAME,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            if usage:
                payload["usage"] = usage
            return f"data: {json.dumps(payload)}\n\n".encode()

        await response.write(chunk({"role": "assistant", "content": ""}, None))
        for token in tokens:
            await asyncio.sleep(token_delay_ms / 1000)
            await response.write(chunk({"content": token}, None))
        await response.write(chunk({}, "stop", _usage(tokens)))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def reply_tokens(messages: list[dict]) -> list[str]:
    """The reply, word by word: a fixed text that quotes the end of the last user message.

    Hive puts the user's own words at the end, after its reminders, so a browser test can
    tell the reply to its own message from an earlier one.
    """
    user_texts = [_text(message.get("content")) for message in messages if message.get("role") == "user"]
    quote = " ".join(user_texts[-1].split())[-QUOTE_CHARS:] if user_texts else ""
    words = f"{REPLY_TEXT} You said: {quote}".split(" ")
    return [word + " " for word in words[:-1]] + words[-1:]


def _text(content: object) -> str:
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _usage(tokens: list[str]) -> dict:
    return {"prompt_tokens": 10, "completion_tokens": len(tokens), "total_tokens": 10 + len(tokens)}


def _openai_error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "code": status}}, status=status)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible LLM stub with injectable faults.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8790, help="port to bind (default 8790)")
    args = parser.parse_args(argv)
    web.run_app(LlmStub().app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
