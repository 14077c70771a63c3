"""The LLM stub as the openai SDK sees it: scripted tool calls, timing profiles, provider faults."""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import httpx
import openai
import pytest

from hive_resilience.target.embedded import free_port
from hive_resilience.target.fault_registry import FAULTS
from hive_resilience.target.faults import healthy_faults, read_faults
from hive_resilience.target.llm_stub import (
    PROFILES,
    REPLY_TEXT,
    LlmFaults,
    ToolCall,
    calls_deltas,
    draw_timing,
    next_step,
    parse_directive,
    steps_answered,
)

STAMP = "[2026-01-01 00:00 UTC] "
"""How Hive prefixes the user's own text; the script mix only applies to such messages."""


@pytest.fixture(scope="module")
def stub_url():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "hive_resilience.target.llm_stub", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def client(stub_url):
    put_faults(stub_url, None)
    admin(stub_url, "PUT", "/admin/scripts", {"mix": {}})
    yield openai.OpenAI(base_url=f"{stub_url}/v1", api_key="sk-test", max_retries=0, timeout=10)
    put_faults(stub_url, None)
    admin(stub_url, "PUT", "/admin/scripts", {"mix": {}})
    admin(stub_url, "PUT", "/admin/profile", {"name": "instant"})


def admin(url: str, method: str, path: str, payload: dict | None = None) -> dict:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def put_faults(url: str, faults: dict | None) -> dict:
    if faults is None:
        return admin(url, "POST", "/admin/faults/reset", {})
    return admin(url, "PUT", "/admin/faults", faults)


def ask(client, stream: bool, content: str = "hi") -> str:
    messages = [{"role": "user", "content": content}]
    if not stream:
        return client.chat.completions.create(model="fake-model", messages=messages).choices[0].message.content
    chunks = client.chat.completions.create(model="fake-model", messages=messages, stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def model_turn(client, messages: list[dict]) -> tuple[list[dict], str, str]:
    """One streamed model call: the tool calls its deltas join into, its text and its finish reason."""
    calls: dict[int, dict] = {}
    text, finish = "", None
    for chunk in client.chat.completions.create(model="fake-model", messages=messages, stream=True):
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": delta.id, "name": delta.function.name, "arguments": ""})
            call["arguments"] += delta.function.arguments or ""
    return [calls[index] for index in sorted(calls)], text, finish


def conversation(client, user_text: str, max_calls: int = 10) -> list[list[dict]]:
    """Play Hive's part: answer every tool call with a result until the model replies with text."""
    messages = [{"role": "system", "content": "you are a queen"}, {"role": "user", "content": user_text}]
    turns = []
    for _ in range(max_calls):
        calls, text, finish = model_turn(client, messages)
        if not calls:
            assert finish == "stop" and text
            return turns
        assert finish == "tool_calls"
        turns.append(calls)
        messages.append({"role": "assistant", "tool_calls": [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]})
        messages.extend({"role": "tool", "tool_call_id": c["id"], "content": "{}"} for c in calls)
    raise AssertionError(f"no text reply after {max_calls} calls")


def names_and_arguments(turns: list[list[dict]]) -> list[list[tuple[str, str]]]:
    return [[(call["name"], call["arguments"]) for call in calls] for calls in turns]


@pytest.mark.parametrize("stream", [False, True])
def test_replies_in_openai_format_quoting_the_users_message(client, stream):
    reply = ask(client, stream, "please quote me")
    assert reply.startswith(REPLY_TEXT) and reply.endswith("You said: please quote me")


@pytest.mark.parametrize(("directive", "expected"), [
    ("[[script:plain]]", []),
    ("[[script:one_tool]]", [[("risk_score", "{}")]]),
    ('[[script:one_tool tool=read_file args={"path": "a b"}]]', [[("read_file", '{"path": "a b"}')]]),
    ("[[script:chain steps=3]]", [[("risk_score", "{}")]] * 3),
    ("[[script:parallel calls=3]]", [[("risk_score", "{}")] * 3]),
    ("[[script:tool_fails]]", [[("risk_score", '{"ssl_results": {"a": 1}}')]]),
    ("[[script:malformed_args]]", [[("risk_score", '{"ssl_results": ')]]),
    ("[[script:unknown_tool]]", [[("no_such_tool", "{}")]]),
    ('[[tool:risk_score {} && read_file {"path": "x"} -> risk_score]]',
     [[("risk_score", "{}"), ("read_file", '{"path": "x"}')], [("risk_score", "{}")]]),
])
def test_each_script_streams_its_tool_calls_then_text_once_every_step_is_answered(client, directive, expected):
    assert names_and_arguments(conversation(client, f"{STAMP}do it {directive}")) == expected


def test_calls_of_one_turn_get_distinct_ids(client):
    [calls] = conversation(client, "[[script:parallel calls=2]]")
    assert len({call["id"] for call in calls}) == 2


def test_after_the_tool_results_the_reply_counts_them_and_still_quotes_the_user(client):
    messages = [{"role": "user", "content": "go [[script:parallel calls=2]]"},
                {"role": "assistant", "tool_calls": [{"id": "a"}, {"id": "b"}]},
                {"role": "tool", "tool_call_id": "a", "content": "1"}, {"role": "tool", "tool_call_id": "b", "content": "2"}]
    calls, text, _ = model_turn(client, messages)
    assert not calls and text.endswith("You said: go [[script:parallel calls=2]] Tool results received: 2.")


def test_non_streaming_calls_get_text_whatever_the_directive(client):
    assert ask(client, stream=False, content="[[script:one_tool]]").startswith(REPLY_TEXT)


def test_the_last_directive_wins_and_explicit_arguments_are_kept_verbatim():
    text = 'quoted earlier [[script:chain steps=4]] now [[tool:risk_score {"ssl_results": ]]'
    assert parse_directive(text) == [[ToolCall("risk_score", '{"ssl_results":')]]


def test_an_unknown_script_or_option_is_a_plain_reply_not_an_error():
    assert parse_directive("[[script:no_such_script]]") == []
    assert parse_directive("[[script:plain calls=2]]") == []
    assert parse_directive("[[script:chain steps=many]]") == []
    assert parse_directive("no directive") is None


def test_each_run_of_tool_messages_after_the_user_message_is_one_step_answered():
    called = {"role": "assistant", "tool_calls": [{"id": "1"}]}
    result = {"role": "tool", "tool_call_id": "1", "content": "ok"}
    earlier = [{"role": "user", "content": "old"}, called, result]
    user = {"role": "user", "content": "[[script:chain steps=2]]"}
    steps = parse_directive(user["content"])
    assert steps_answered([*earlier, user]) == 0
    assert next_step(steps, [*earlier, user, called, result]) == [ToolCall("risk_score", "{}")]
    assert next_step(steps, [*earlier, user, called, result, called, result, result]) is None


def test_tool_call_arguments_are_streamed_in_fragments_after_an_opening_delta():
    deltas = calls_deltas([ToolCall("a", '{"x": 1}')])
    opening, *fragments, finish = deltas
    assert opening[0]["tool_calls"][0]["function"] == {"name": "a", "arguments": ""}
    assert len(fragments) == 2 and "".join(d["tool_calls"][0]["function"]["arguments"] for d, _ in fragments) == '{"x": 1}'
    assert finish == ({}, "tool_calls")


def test_a_seeded_mix_draws_scripts_for_stamped_user_messages_in_its_weights(client, stub_url):
    assert admin(stub_url, "PUT", "/admin/scripts", {"mix": {"one_tool": 3, "plain": 1}, "seed": 7}) == {
        "mix": {"one_tool": 3, "plain": 1}, "seed": 7}
    tool_turns = sum(bool(conversation(client, f"{STAMP}message {n}")) for n in range(40))
    assert 20 <= tool_turns <= 38


def test_the_mix_leaves_unstamped_calls_like_the_greeting_turn_plain(client, stub_url):
    admin(stub_url, "PUT", "/admin/scripts", {"mix": {"one_tool": 1}})
    assert conversation(client, "<system-reminder>skills</system-reminder>") == []
    assert len(conversation(client, f"{STAMP}hello")) == 1


def test_a_directive_overrides_the_mix(client, stub_url):
    admin(stub_url, "PUT", "/admin/scripts", {"mix": {"one_tool": 1}})
    assert conversation(client, f"{STAMP}[[script:plain]]") == []


@pytest.mark.parametrize(("path", "payload"), [
    ("/admin/scripts", {"mix": {"no_such": 1}}),
    ("/admin/scripts", {"mix": {"plain": -1}}),
    ("/admin/scripts", {"mix": {"plain": 0}}),
    ("/admin/scripts", {"mix": {"plain": 1}, "seed": "x"}),
    ("/admin/scripts", {"weights": {}}),
    ("/admin/profile", {"name": "warp-speed"}),
    ("/admin/profile", [1]),
])
def test_bad_script_or_profile_settings_are_refused_with_a_one_line_400(stub_url, path, payload):
    with pytest.raises(urllib.error.HTTPError) as error:
        admin(stub_url, "PUT", path, payload)
    assert error.value.code == 400
    assert "\n" not in json.loads(error.value.read())["error"]


@pytest.mark.parametrize("name", [name for name, profile in PROFILES.items() if profile])
def test_a_profiles_draws_match_its_published_medians_and_p90s(name):
    profile = PROFILES[name]
    rng = random.Random(3)
    draws = [draw_timing(profile, rng) for _ in range(400)]

    def median_and_p90(values: list[float]) -> tuple[float, float]:
        deciles = statistics.quantiles(values, n=10)
        return statistics.median(values), deciles[8]

    ttft_median, ttft_p90 = median_and_p90([d.ttft_s for d in draws])
    assert ttft_median == pytest.approx(profile.ttft_median_s, rel=0.15)
    assert ttft_p90 == pytest.approx(profile.ttft_p90_s, rel=0.2)
    assert statistics.mean(d.tokens_per_s for d in draws) == pytest.approx(profile.tokens_per_s_mean, rel=0.1)
    length_median, length_p90 = median_and_p90([d.reply_tokens for d in draws])
    assert length_median == pytest.approx(profile.reply_tokens_median, rel=0.15)
    assert length_p90 == pytest.approx(profile.reply_tokens_p90, rel=0.2)


def test_a_seed_makes_the_draws_repeatable():
    profile = PROFILES["slow-hosted"]
    rng_a, rng_b = random.Random(5), random.Random(5)
    assert [draw_timing(profile, rng_a) for _ in range(5)] == [draw_timing(profile, rng_b) for _ in range(5)]


def test_the_slow_profile_is_slower_than_the_fast_one_in_its_parameters():
    fast, slow = PROFILES["fast-hosted"], PROFILES["slow-hosted"]
    assert fast.ttft_median_s < slow.ttft_median_s and fast.tokens_per_s_mean > slow.tokens_per_s_mean


def test_a_profile_set_at_run_time_gives_replies_of_its_drawn_length(client, stub_url):
    assert admin(stub_url, "PUT", "/admin/profile", {"name": "fast-hosted", "seed": 1}) == {"name": "fast-hosted", "seed": 1}
    expected = draw_timing(PROFILES["fast-hosted"], random.Random(1)).reply_tokens
    reply = ask(client, stream=True, content="count me")
    assert len(reply.split(" ")) == expected and reply.endswith("You said: count me")


def test_a_profile_can_be_chosen_at_start():
    result = subprocess.run([sys.executable, "-m", "hive_resilience.target.llm_stub", "--profile", "warp"],
                            check=False, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "unknown timing profile 'warp'" in result.stderr
    assert "Traceback" not in result.stderr


def test_outage_answers_503(client, stub_url):
    put_faults(stub_url, {"outage": True})
    with pytest.raises(openai.InternalServerError) as error:
        ask(client, stream=True)
    assert error.value.status_code == 503


def test_failure_ratio_one_fails_every_call_and_is_counted(client, stub_url):
    put_faults(stub_url, {"failure_ratio": 1.0})
    failed_before = admin(stub_url, "GET", "/admin/stats")["failed"]
    for _ in range(3):
        with pytest.raises(openai.APIStatusError):
            ask(client, stream=False)
    assert admin(stub_url, "GET", "/admin/stats")["failed"] == failed_before + 3


def test_a_rate_limited_call_is_a_rate_limit_error_with_retry_after(client, stub_url):
    put_faults(stub_url, {"rate_limit_ratio": 1, "retry_after_s": 7})
    with pytest.raises(openai.RateLimitError) as error:
        ask(client, stream=True)
    assert error.value.response.headers["retry-after"] == "7"
    assert error.value.code == "rate_limit_exceeded" and error.value.type == "requests"


def test_a_requests_per_minute_budget_refuses_the_calls_beyond_it(client, stub_url):
    put_faults(stub_url, {"rate_limit_rpm": 2})
    outcomes = []
    for _ in range(4):
        try:
            ask(client, stream=False)
            outcomes.append("ok")
        except openai.RateLimitError:
            outcomes.append("429")
    assert outcomes.count("429") >= 2 and outcomes[-1] == "429"


def test_a_server_error_is_an_internal_server_error_with_openais_body(client, stub_url):
    put_faults(stub_url, {"server_error_ratio": 1})
    with pytest.raises(openai.InternalServerError) as error:
        ask(client, stream=False)
    assert error.value.status_code == 500 and error.value.type == "server_error"


def test_a_context_length_fault_is_a_bad_request_with_openais_code(client, stub_url):
    put_faults(stub_url, {"context_length_ratio": 1})
    with pytest.raises(openai.BadRequestError) as error:
        ask(client, stream=True)
    assert error.value.code == "context_length_exceeded" and error.value.type == "invalid_request_error"


def test_a_hung_call_times_the_client_out(stub_url):
    put_faults(stub_url, {"hang_ratio": 1, "hang_s": 5})
    try:
        impatient = openai.OpenAI(base_url=f"{stub_url}/v1", api_key="sk-test", max_retries=0, timeout=0.5)
        with pytest.raises(openai.APITimeoutError):
            ask(impatient, stream=True)
    finally:
        put_faults(stub_url, None)


def test_a_cut_stream_raises_mid_way_after_its_first_chunks(client, stub_url):
    put_faults(stub_url, {"stream_cut_ratio": 1, "stream_cut_after_chunks": 3})
    stream = client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}], stream=True)
    received = 0
    with pytest.raises((httpx.RemoteProtocolError, openai.APIError)):
        for _ in stream:
            received += 1
    assert received == 3


def test_token_delay_slows_a_streamed_reply(client, stub_url):
    put_faults(stub_url, {"token_delay_ms": 50})
    started = time.monotonic()
    ask(client, stream=True)
    assert time.monotonic() - started >= 0.5  # 17 tokens x 50 ms


def test_first_token_delay_holds_the_reply(client, stub_url):
    put_faults(stub_url, {"first_token_delay_ms": 400})
    started = time.monotonic()
    ask(client, stream=False)
    assert time.monotonic() - started >= 0.4


@pytest.mark.parametrize("faults", [{"outage": "yes"}, {"failure_ratio": 2}, {"token_delay_ms": -1}, {"slowness": 1},
                                    {"rate_limit_ratio": 1.5}, {"hang_s": -1}])
def test_bad_fault_settings_are_refused_with_400(stub_url, faults):
    with pytest.raises(urllib.error.HTTPError) as error:
        put_faults(stub_url, faults)
    assert error.value.code == 400
    assert "error" in json.loads(error.value.read())


@pytest.mark.parametrize("knob", [{"token_delay_ms": 5}, {"rate_limit_rpm": 30}, {"stream_cut_ratio": 0.5}])
def test_the_registry_sees_llm_faults_until_they_are_reset_to_the_dataclass_defaults(stub_url, knob):
    kind, target = FAULTS.get("llm-faults"), SimpleNamespace(llm_url=stub_url)
    assert not kind.present(target, "llm-stub")
    kind.apply(target, **knob)
    assert kind.present(target, "llm-stub")
    kind.undo(target, "llm-stub")
    assert not kind.present(target, "llm-stub")
    assert read_faults(stub_url) == healthy_faults(LlmFaults)
