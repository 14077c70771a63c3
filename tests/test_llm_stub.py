"""The LLM stub speaks the OpenAI wire format (checked with the openai SDK) and injects faults."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import openai
import pytest

from hive_resilience.target.embedded import free_port
from hive_resilience.target.fault_registry import FAULTS
from hive_resilience.target.faults import healthy_faults, read_faults
from hive_resilience.target.llm_stub import LlmFaults


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
    yield openai.OpenAI(base_url=f"{stub_url}/v1", api_key="sk-test", max_retries=0, timeout=10)
    put_faults(stub_url, None)


def put_faults(url: str, faults: dict | None) -> dict:
    path, body = ("/admin/faults/reset", b"") if faults is None else ("/admin/faults", json.dumps(faults).encode())
    request = urllib.request.Request(url + path, data=body, method="POST" if faults is None else "PUT")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def ask(client, stream: bool) -> str:
    messages = [{"role": "user", "content": "hi"}]
    if not stream:
        return client.chat.completions.create(model="fake-model", messages=messages).choices[0].message.content
    chunks = client.chat.completions.create(model="fake-model", messages=messages, stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


@pytest.mark.parametrize("stream", [False, True])
def test_replies_in_openai_format(client, stream):
    assert "hive-resilience LLM stub" in ask(client, stream)


def test_outage_answers_503(client, stub_url):
    put_faults(stub_url, {"outage": True})
    with pytest.raises(openai.InternalServerError) as error:
        ask(client, stream=True)
    assert error.value.status_code == 503


def test_failure_ratio_one_fails_every_call_and_is_counted(client, stub_url):
    put_faults(stub_url, {"failure_ratio": 1.0})
    with urllib.request.urlopen(f"{stub_url}/admin/stats") as response:
        failed_before = json.loads(response.read())["failed"]
    for _ in range(3):
        with pytest.raises(openai.APIStatusError):
            ask(client, stream=False)
    with urllib.request.urlopen(f"{stub_url}/admin/stats") as response:
        assert json.loads(response.read())["failed"] == failed_before + 3


def test_token_delay_slows_a_streamed_reply(client, stub_url):
    put_faults(stub_url, {"token_delay_ms": 50})
    started = time.monotonic()
    ask(client, stream=True)
    assert time.monotonic() - started >= 0.5  # 13 tokens x 50 ms


def test_first_token_delay_holds_the_reply(client, stub_url):
    put_faults(stub_url, {"first_token_delay_ms": 400})
    started = time.monotonic()
    ask(client, stream=False)
    assert time.monotonic() - started >= 0.4


@pytest.mark.parametrize("faults", [{"outage": "yes"}, {"failure_ratio": 2}, {"token_delay_ms": -1}, {"slowness": 1}])
def test_bad_fault_settings_are_refused_with_400(stub_url, faults):
    with pytest.raises(urllib.error.HTTPError) as error:
        put_faults(stub_url, faults)
    assert error.value.code == 400
    assert "error" in json.loads(error.value.read())


def test_the_registry_sees_llm_faults_until_they_are_reset_to_the_dataclass_defaults(stub_url):
    kind, target = FAULTS.get("llm-faults"), SimpleNamespace(llm_url=stub_url)
    assert not kind.present(target, "llm-stub")
    kind.apply(target, token_delay_ms=5)
    assert kind.present(target, "llm-stub")
    kind.undo(target, "llm-stub")
    assert not kind.present(target, "llm-stub")
    assert read_faults(stub_url) == healthy_faults(LlmFaults) == {
        "first_token_delay_ms": 0, "token_delay_ms": 0, "failure_ratio": 0, "outage": False}
