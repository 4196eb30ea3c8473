"""The chat router and its providers against real HTTP servers on 127.0.0.1: the
``ollama`` client path (Ollama's /api/chat), Ollama cloud, and an OpenAI-compatible
/v1/chat/completions endpoint. Retries, timeouts and error mapping included."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lakehouse.chat import ChatConfig, ChatRouter, OpenAIEndpoint, RetryPolicy
from lakehouse.chat.config import DEFAULT_ENDPOINTS
from lakehouse.errors import (
    BadGateway,
    GatewayTimeout,
    InvalidInput,
    LakehouseError,
    NotFound,
    Unavailable,
)
from lakehouse.settings import Settings
from tests.fakes.scripted_chat import ScriptedProvider

HELLO = [{"role": "user", "content": "Say hi"}]


class FakeServer:
    """A local HTTP server answering POSTs from a queue of scripted responses."""

    def __init__(self) -> None:
        self.responses: deque[tuple[int, Any, float]] = deque()
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                server.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "json": body,
                    }
                )
                status, payload, delay = (
                    server.responses.popleft() if server.responses else (500, {}, 0)
                )
                time.sleep(delay)
                if callable(payload):
                    payload = payload(body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def then(self, status: int, payload: Any = None, delay: float = 0.0) -> FakeServer:
        self.responses.append((status, {} if payload is None else payload, delay))
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def ollama_answer(text: str) -> Any:
    def answer(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": body["model"],
            "created_at": "2025-01-01T00:00:00.000000Z",
            "message": {"role": "assistant", "content": text},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 12,
            "eval_count": 5,
        }

    return answer


def openai_answer(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    }


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.close()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def router(
    server: FakeServer | None = None, environ: dict[str, str] | None = None, **cfg: Any
) -> tuple[ChatRouter, Sleeps]:
    options = {"max_retries": 2, "backoff_s": 0.01, "timeout_s": 5.0, **cfg}
    if server is not None:
        options.setdefault("ollama_host", server.url)
    sleeps = Sleeps()
    return ChatRouter(ChatConfig(**options), environ=environ or {}, sleep=sleeps), sleeps


# ---------------------------------------------------------------- local Ollama


def test_ollama_chat_through_the_official_client(server: FakeServer) -> None:
    server.then(200, ollama_answer("Hi there"))
    chat, _ = router(server)
    reply = chat.chat("llama3.2:3b", HELLO)
    assert (reply.text, reply.model, reply.provider, reply.provider_model) == (
        "Hi there",
        "llama3.2:3b",
        "ollama",
        "llama3.2:3b",
    )
    assert reply.attempts == 1
    assert reply.usage == {"prompt_tokens": 12, "completion_tokens": 5}
    (request,) = server.requests
    assert request["path"] == "/api/chat"
    assert request["json"]["model"] == "llama3.2:3b"
    assert request["json"]["messages"] == HELLO
    assert request["json"]["think"] is False
    assert request["json"]["stream"] is False


def test_leading_think_block_is_dropped(server: FakeServer) -> None:
    server.then(200, ollama_answer('<think>\nlet me see {"no": 1}\n</think>\n{"a": 1}'))
    assert router(server)[0].chat("qwen3", HELLO).text == '{"a": 1}'


def test_transient_errors_are_retried_with_backoff(server: FakeServer) -> None:
    server.then(503, {"error": "loading model"}).then(500, {"error": "oops"})
    server.then(200, ollama_answer("ok"))
    chat, sleeps = router(server)
    reply = chat.chat("llama3.2", HELLO)
    assert reply.text == "ok" and reply.attempts == 3
    assert len(server.requests) == 3
    assert len(sleeps) == 2
    assert all(0 <= s <= 0.01 * 2**i for i, s in enumerate(sleeps))


@pytest.mark.parametrize(
    ("status", "error", "status_code"),
    [
        (500, BadGateway, 502),
        (502, BadGateway, 502),
        (503, Unavailable, 503),
        (429, Unavailable, 503),
    ],
)
def test_retries_are_bounded(server: FakeServer, status, error, status_code) -> None:
    for _ in range(5):
        server.then(status, {"error": "busy"})
    chat, sleeps = router(server, max_retries=2)
    with pytest.raises(error) as info:
        chat.chat("llama3.2", HELLO)
    assert info.value.status == status_code
    assert "busy" in info.value.message
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_unknown_model_is_not_found_and_not_retried(server: FakeServer) -> None:
    server.then(404, {"error": "model 'nope' not found"})
    with pytest.raises(NotFound, match="model 'nope' not found"):
        router(server)[0].chat("nope", HELLO)
    assert len(server.requests) == 1


def test_client_errors_are_bad_gateway_and_not_retried(server: FakeServer) -> None:
    server.then(400, {"error": "invalid options"})
    with pytest.raises(BadGateway, match="invalid options"):
        router(server)[0].chat("llama3.2", HELLO)
    assert len(server.requests) == 1


def test_model_without_thinking_is_asked_without_the_flag(server: FakeServer) -> None:
    server.then(400, {"error": '"gemma3" does not support thinking'})
    server.then(200, ollama_answer("one")).then(200, ollama_answer("two"))
    chat, _ = router(server)
    assert chat.chat("gemma3", HELLO).text == "one"
    assert chat.chat("gemma3", HELLO).text == "two"
    assert [("think" in r["json"]) for r in server.requests] == [True, False, False]


def test_read_timeout_is_504_and_not_retried(server: FakeServer) -> None:
    server.then(200, ollama_answer("late"), delay=1.0)
    chat, _ = router(server, timeout_s=0.2)
    with pytest.raises(GatewayTimeout) as info:
        chat.chat("llama3.2", HELLO)
    assert info.value.status == 504
    assert len(server.requests) == 1


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_ollama_is_503_after_retries() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    chat, sleeps = router(ollama_host=url, max_retries=2)
    with pytest.raises(Unavailable) as info:
        chat.chat("llama3.2", HELLO)
    assert info.value.status == 503
    assert "unreachable" in info.value.message and url in info.value.message
    assert len(sleeps) == 2


def test_garbled_reply_is_bad_gateway(server: FakeServer) -> None:
    server.then(200, b"<html>proxy error</html>")
    with pytest.raises(BadGateway):
        router(server)[0].chat("llama3.2", HELLO)
    server.then(200, {"model": "x", "done": True})  # no message
    with pytest.raises(BadGateway):
        router(server)[0].chat("llama3.2", HELLO)


# ---------------------------------------------------------------- Ollama cloud


@pytest.mark.parametrize(
    ("model", "sent"), [("glm-4.6:cloud", "glm-4.6"), ("gpt-oss:120b-cloud", "gpt-oss:120b")]
)
def test_cloud_models_go_to_ollama_cloud_with_the_key(server: FakeServer, model, sent) -> None:
    server.then(200, ollama_answer("from the cloud"))
    chat, _ = router(
        ollama_host=None, ollama_cloud_host=server.url, environ={"OLLAMA_API_KEY": "k-123"}
    )
    reply = chat.chat(model, HELLO)
    assert (reply.text, reply.model, reply.provider, reply.provider_model) == (
        "from the cloud",
        model,
        "ollama-cloud",
        sent,
    )
    (request,) = server.requests
    assert request["json"]["model"] == sent
    assert request["headers"]["authorization"] == "Bearer k-123"


def test_cloud_model_without_key_uses_a_signed_in_local_ollama(server: FakeServer) -> None:
    server.then(200, ollama_answer("proxied"))
    reply = router(server)[0].chat("glm-4.6:cloud", HELLO)
    assert reply.provider == "ollama" and server.requests[0]["json"]["model"] == "glm-4.6:cloud"


# ---------------------------------------------------------------- OpenAI-compatible


def compat(
    server: FakeServer, key: str | None = "sk-test", **cfg: Any
) -> tuple[ChatRouter, Sleeps]:
    endpoint = OpenAIEndpoint(prefix="local", base_url=f"{server.url}/v1", api_key_env="LOCAL_KEY")
    environ = {"LOCAL_KEY": key} if key else {}
    return router(endpoints=(endpoint,), environ=environ, **cfg)


def test_openai_compatible_endpoint(server: FakeServer) -> None:
    server.then(200, openai_answer("hello"))
    reply = compat(server)[0].chat("local/meta-llama/llama-3.1-8b", HELLO)
    assert (reply.text, reply.model, reply.provider, reply.provider_model) == (
        "hello",
        "local/meta-llama/llama-3.1-8b",
        "local",
        "meta-llama/llama-3.1-8b",
    )
    assert reply.usage == {"prompt_tokens": 9, "completion_tokens": 3}
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer sk-test"
    assert request["json"] == {
        "model": "meta-llama/llama-3.1-8b",
        "messages": HELLO,
        "stream": False,
    }


def test_openai_compatible_retries_then_succeeds(server: FakeServer) -> None:
    server.then(429, {"error": {"message": "rate limited"}}).then(200, openai_answer("ok"))
    chat, sleeps = compat(server)
    assert chat.chat("local/m", HELLO).attempts == 2
    assert len(sleeps) == 1


def test_openai_compatible_bad_key_names_the_variable_not_the_key(server: FakeServer) -> None:
    server.then(401, {"error": {"message": "invalid api key sk-test"}})
    with pytest.raises(BadGateway) as info:
        compat(server)[0].chat("local/m", HELLO)
    assert "LOCAL_KEY" in info.value.message and "sk-test" not in info.value.message
    assert len(server.requests) == 1


def test_provider_messages_never_echo_our_key(server: FakeServer) -> None:
    server.then(400, {"error": {"message": "bad request for key sk-test"}})
    server.then(200, {"error": {"message": "upstream rejected sk-test"}})
    chat, _ = compat(server)
    for _ in range(2):
        with pytest.raises(BadGateway) as info:
            chat.chat("local/m", HELLO)
        assert "sk-test" not in info.value.message and "***" in info.value.message


@pytest.mark.parametrize(
    "payload",
    [
        {"error": {"message": "upstream failed", "code": 502}},
        {"choices": []},
        {"choices": [{"message": {"content": 5}}]},
        b"not json",
    ],
)
def test_openai_compatible_garbled_replies(server: FakeServer, payload) -> None:
    server.then(200, payload)
    with pytest.raises(BadGateway):
        compat(server)[0].chat("local/m", HELLO)


def test_openai_compatible_timeout(server: FakeServer) -> None:
    server.then(200, openai_answer("late"), delay=1.0)
    with pytest.raises(GatewayTimeout):
        compat(server, timeout_s=0.2)[0].chat("local/m", HELLO)


def test_openai_compatible_unreachable() -> None:
    endpoint = OpenAIEndpoint(prefix="local", base_url=f"http://127.0.0.1:{closed_port()}/v1")
    chat, sleeps = router(endpoints=(endpoint,), max_retries=1)
    with pytest.raises(Unavailable, match="unreachable"):
        chat.chat("local/m", HELLO)
    assert len(sleeps) == 1


# ---------------------------------------------------------------- routing and config


@pytest.mark.parametrize(
    ("model", "environ", "setting"),
    [
        ("llama3.2", {}, "LAKEHOUSE_OLLAMA_HOST"),
        ("library/llama3.2:latest", {}, "LAKEHOUSE_OLLAMA_HOST"),
        ("openrouter/anthropic/claude", {}, "OPENROUTER_API_KEY"),
        ("openai/gpt-4o-mini", {}, "OPENAI_API_KEY"),
        ("glm-4.6:cloud", {}, "OLLAMA_API_KEY"),
    ],
)
def test_nothing_configured_is_503_naming_the_setting(model, environ, setting) -> None:
    chat, _ = router(environ=environ)
    with pytest.raises(Unavailable) as info:
        chat.chat(model, HELLO)
    assert info.value.status == 503 and setting in info.value.message


def test_injected_provider_is_routed_by_prefix() -> None:
    script = ScriptedProvider(["scripted reply"])
    chat = ChatRouter(ChatConfig(), providers={"scripted": script}, environ={})
    reply = chat.chat("scripted/any-model", HELLO)
    assert (reply.text, reply.model, reply.provider) == (
        "scripted reply",
        "scripted/any-model",
        "scripted",
    )
    assert script.calls == [{"model": "any-model", "messages": HELLO}]


def test_default_router_has_no_scripted_provider() -> None:
    with pytest.raises(Unavailable):
        ChatRouter(ChatConfig(), environ={}).chat("scripted/x", HELLO)


@pytest.mark.parametrize(
    ("model", "messages"),
    [
        ("", HELLO),
        ("bad model name", HELLO),
        ("llama3", []),
        ("llama3", [{"role": "tool", "content": "x"}]),
        ("llama3", [{"role": "user"}]),
        ("llama3", [{"role": "user", "content": "x", "name": "extra"}]),
    ],
)
def test_malformed_requests_are_invalid_input(model, messages) -> None:
    with pytest.raises(InvalidInput):
        router(ollama_host="http://127.0.0.1:9")[0].chat(model, messages)


def test_config_from_env(monkeypatch) -> None:
    extra = [
        {"prefix": "vllm", "base_url": "http://gpu-1:8000/v1"},
        {"prefix": "openai", "base_url": "https://proxy.example/v1", "api_key_env": "PROXY_KEY"},
    ]
    env = {
        "LAKEHOUSE_OLLAMA_HOST": "http://127.0.0.1:11434",
        "LAKEHOUSE_CHAT_TIMEOUT_S": "30",
        "LAKEHOUSE_CHAT_MAX_RETRIES": "4",
        "LAKEHOUSE_CHAT_THINK": "true",
        "LAKEHOUSE_CHAT_ENDPOINTS": json.dumps(extra),
        "OPENROUTER_API_KEY": "never-in-config",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = Settings().chat
    assert cfg.ollama_host == "http://127.0.0.1:11434"
    assert (cfg.timeout_s, cfg.max_retries, cfg.think) == (30.0, 4, True)
    assert [e.prefix for e in cfg.endpoints] == ["openrouter", "vllm", "openai"]
    assert cfg.endpoint("openai").api_key_env == "PROXY_KEY"
    assert "never-in-config" not in cfg.model_dump_json()


def test_config_defaults_configure_nothing() -> None:
    cfg = Settings().chat
    assert cfg.ollama_host is None and cfg.endpoints == DEFAULT_ENDPOINTS and cfg.think is False


@pytest.mark.parametrize("value", ["not json", '{"prefix": "x"}', '[{"prefix": "x"}]'])
def test_config_rejects_bad_endpoint_lists(monkeypatch, value: str) -> None:
    monkeypatch.setenv("LAKEHOUSE_CHAT_ENDPOINTS", value)
    with pytest.raises(ValueError):
        Settings()


def test_retry_delays_are_capped() -> None:
    policy = RetryPolicy(max_retries=10, backoff_s=0.5, backoff_max_s=2.0)
    assert all(0 <= policy.delay(n) <= min(2.0, 0.5 * 2**n) for n in range(10) for _ in range(20))


def test_scripted_provider_plays_errors_and_refuses_to_run_over() -> None:
    script = ScriptedProvider(["a", Unavailable("down")])
    assert script.chat("m", HELLO).text == "a"
    with pytest.raises(Unavailable):
        script.chat("m", HELLO)
    with pytest.raises(AssertionError, match="script exhausted"):
        script.chat("m", HELLO)
    assert script.remaining == 0 and len(script.calls) == 3


def test_errors_are_domain_errors() -> None:
    # every failure the router raises is one the ingress knows how to map
    for cls in (BadGateway, GatewayTimeout, Unavailable, NotFound, InvalidInput):
        assert issubclass(cls, LakehouseError)
