"""The chat router: the model name picks the provider.

Routing, first match wins:

1. ``<prefix>/<model>`` with a provider injected under ``prefix`` (tests, custom code);
2. ``<prefix>/<model>`` with an OpenAI-compatible endpoint of that prefix
   (``openrouter/meta-llama/llama-3.1-8b-instruct``);
3. a ``:cloud`` tag or a ``-cloud`` tag suffix (``glm-4.6:cloud``, ``gpt-oss:120b-cloud``):
   Ollama cloud when ``OLLAMA_API_KEY`` is set, else a local Ollama (which proxies cloud
   models once signed in to ollama.com);
4. anything else: the local Ollama at ``LAKEHOUSE_OLLAMA_HOST``.

A route with nothing configured behind it is a 503 that names the setting to set.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Mapping

from pydantic import ValidationError

from lakehouse.chat.base import ChatProvider, Messages, RetryPolicy
from lakehouse.chat.config import ChatConfig
from lakehouse.chat.messages import ChatReply, ChatRequest
from lakehouse.chat.ollama_provider import OllamaProvider
from lakehouse.chat.openai_compat import OpenAICompatProvider
from lakehouse.errors import InvalidInput, Unavailable

LOCAL, CLOUD = "ollama", "ollama-cloud"


class ChatRouter:
    """Chats with the provider the model name selects; a ``ChatProvider`` itself.

    Providers are built on first use and reused (each keeps its HTTP connection pool).

    Args:
        config: the chat settings (``Settings().chat``); default: nothing configured.
        providers: extra providers by prefix (``{"scripted": ScriptedProvider(...)}``
            routes ``scripted/<anything>``); nothing is injected by default.
        environ: where API keys are read; default ``os.environ``.
        sleep: the retry back-off sleep (tests pass a no-op).
    """

    def __init__(
        self,
        config: ChatConfig | None = None,
        *,
        providers: Mapping[str, ChatProvider] | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config or ChatConfig()
        self._injected = dict(providers or {})
        self._environ = os.environ if environ is None else environ
        self._sleep = sleep
        self._built: dict[str, ChatProvider] = {}
        self._lock = threading.Lock()

    def chat(self, model: str, messages: Messages) -> ChatReply:
        """The reply of the provider ``model`` routes to.

        Raises:
            InvalidInput: a malformed model name or message list.
            Unavailable: no provider configured for ``model`` (the message says what to
                set), or the provider is unreachable or busy.
            BadGateway, GatewayTimeout, NotFound: see ``lakehouse.chat.base``.
        """
        request = _checked(model, messages)
        key, provider_model = self.route(request.model)
        provider = self._provider(key)
        answer = provider.chat(provider_model, request.message_dicts())
        return dataclasses.replace(answer, model=request.model)

    def route(self, model: str) -> tuple[str, str]:
        """``(provider key, name the provider knows the model by)`` for ``model``."""
        prefix, _, rest = model.partition("/")
        if rest and prefix in self._injected:
            return prefix, rest
        if rest and self.config.endpoint(prefix) is not None:
            return prefix, rest
        cloud_name = _cloud_name(model)
        if cloud_name is not None and self._key(self.config.ollama_cloud_key_env):
            return CLOUD, cloud_name
        if cloud_name is not None and not self.config.ollama_host:
            raise Unavailable(
                f"no provider for cloud model {model!r}: set "
                f"{self.config.ollama_cloud_key_env} for Ollama cloud, or "
                "LAKEHOUSE_OLLAMA_HOST for a local Ollama signed in to ollama.com"
            )
        if not self.config.ollama_host:
            raise Unavailable(_no_local_provider(model, self.config))
        return LOCAL, model

    def _provider(self, key: str) -> ChatProvider:
        if key in self._injected:
            return self._injected[key]
        with self._lock:
            if key not in self._built:
                self._built[key] = self._build(key)
            return self._built[key]

    def _build(self, key: str) -> ChatProvider:
        cfg = self.config
        retry = RetryPolicy(cfg.max_retries, cfg.backoff_s, cfg.backoff_max_s)
        timeouts = {"timeout_s": cfg.timeout_s, "connect_timeout_s": cfg.connect_timeout_s}
        common = {**timeouts, "retry": retry, "sleep": self._sleep}
        if key in (LOCAL, CLOUD):
            host = cfg.ollama_host if key == LOCAL else cfg.ollama_cloud_host
            env = None if key == LOCAL else cfg.ollama_cloud_key_env
            api_key = self._key(env) if env else None
            return OllamaProvider(
                key, str(host), api_key=api_key, key_env=env, think=cfg.think, **common
            )
        endpoint = cfg.endpoint(key)
        assert endpoint is not None  # route() only returns configured prefixes
        api_key = self._key(endpoint.api_key_env) if endpoint.api_key_env else None
        if endpoint.api_key_env and not api_key:
            raise Unavailable(f"set {endpoint.api_key_env} to use {key}/... models")
        return OpenAICompatProvider(
            key, endpoint.base_url, api_key=api_key, key_env=endpoint.api_key_env, **common
        )

    def _key(self, env: str) -> str | None:
        return self._environ.get(env) or None

    def close(self) -> None:
        """Close the HTTP clients of the providers built so far."""
        with self._lock:
            for provider in self._built.values():
                close = getattr(provider, "close", None)
                if close is not None:
                    close()
            self._built.clear()


def _checked(model: str, messages: Messages) -> ChatRequest:
    try:
        return ChatRequest.model_validate({"model": model, "messages": list(messages)})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"invalid chat request: {field}: {first['msg']}") from exc


def _cloud_name(model: str) -> str | None:
    """The Ollama cloud API's name for a cloud-tagged model, else None."""
    name, sep, tag = model.rpartition(":")
    if not sep or "/" in tag:
        return None
    if tag == "cloud":
        return name
    if tag.endswith("-cloud"):
        return f"{name}:{tag.removesuffix('-cloud')}"
    return None


def _no_local_provider(model: str, config: ChatConfig) -> str:
    prefixes = ", ".join(f"{e.prefix}/... ({e.api_key_env or 'no key'})" for e in config.endpoints)
    return (
        f"no chat provider configured for model {model!r}: set LAKEHOUSE_OLLAMA_HOST "
        f"(e.g. http://127.0.0.1:11434) for a local Ollama, or name a model as {prefixes}"
    )
