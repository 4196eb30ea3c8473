"""Chat configuration: which providers exist, and how long and how often to try them.

The ``chat`` section of ``lakehouse.settings.Settings`` (``LAKEHOUSE_CHAT_<FIELD>``,
``[chat]`` in the TOML file). Nothing is configured by default (DESIGN.md: "chat: none
configured: clear 503"). Set ``LAKEHOUSE_OLLAMA_HOST`` (shared with the embedder) for a
local Ollama, ``OLLAMA_API_KEY`` for Ollama cloud, and a provider's key
(``OPENROUTER_API_KEY``, ``OPENAI_API_KEY``) for an OpenAI-compatible endpoint. API keys
are read from the environment when a provider is first used and are never part of this
model, so it can be logged and shipped to actors safely.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class OpenAIEndpoint(BaseModel):
    """An OpenAI-compatible chat endpoint, chosen by the model name's ``<prefix>/``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    base_url: str = Field(min_length=1, max_length=500, description="up to and with /v1")
    api_key_env: str | None = Field(
        default=None, max_length=100, description="variable holding the key; None: no auth"
    )


DEFAULT_ENDPOINTS = (
    OpenAIEndpoint(
        prefix="openrouter",
        base_url="https://openrouter.ai/api/v1",
        api_key_env="OPENROUTER_API_KEY",
    ),
    OpenAIEndpoint(
        prefix="openai", base_url="https://api.openai.com/v1", api_key_env="OPENAI_API_KEY"
    ),
)


class ChatConfig(BaseModel):
    """Every chat knob. ``endpoints`` (``LAKEHOUSE_CHAT_ENDPOINTS``, a JSON list) adds to the
    defaults, replacing any with the same prefix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ollama_host: str | None = Field(default=None, max_length=500)
    ollama_cloud_host: str = Field(default="https://ollama.com", max_length=500)
    ollama_cloud_key_env: str = Field(default="OLLAMA_API_KEY", max_length=100)
    endpoints: tuple[OpenAIEndpoint, ...] = DEFAULT_ENDPOINTS
    timeout_s: float = Field(default=120.0, gt=0, le=600)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    max_retries: int = Field(default=2, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0, le=30)
    backoff_max_s: float = Field(default=8.0, ge=0, le=120)
    think: bool = False

    @field_validator("endpoints", mode="after")
    @classmethod
    def _merge_defaults(cls, value: tuple[OpenAIEndpoint, ...]) -> tuple[OpenAIEndpoint, ...]:
        return merge_endpoints(DEFAULT_ENDPOINTS, list(value))

    def endpoint(self, prefix: str) -> OpenAIEndpoint | None:
        return next((e for e in self.endpoints if e.prefix == prefix), None)


def merge_endpoints(
    base: tuple[OpenAIEndpoint, ...], extra: list[OpenAIEndpoint]
) -> tuple[OpenAIEndpoint, ...]:
    """``base`` plus ``extra``; an ``extra`` endpoint replaces a ``base`` one of its prefix."""
    prefixes = {e.prefix for e in extra}
    return tuple(e for e in base if e.prefix not in prefixes) + tuple(extra)
