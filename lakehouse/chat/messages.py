"""Chat wire models and the provider-neutral reply."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_MESSAGES = 200
MAX_CONTENT_CHARS = 200_000
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"


class ChatMessage(BaseModel):
    """One turn of a conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=MAX_CONTENT_CHARS)


class ChatRequest(BaseModel):
    """``POST /v1/chat`` body. The model name picks the provider (see ``ChatRouter``)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200, pattern=MODEL_PATTERN)
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)

    def message_dicts(self) -> list[dict[str, str]]:
        return [m.model_dump() for m in self.messages]


@dataclass(frozen=True)
class ChatReply:
    """What every provider returns.

    Attributes:
        text: the assistant's reply (a leading ``<think>`` block removed).
        model: the model name as requested.
        provider: which provider answered (``ollama``, ``ollama-cloud``, ``openrouter``...).
        provider_model: the name the provider was sent (prefix or suffix stripped).
        attempts: HTTP attempts made, retries included.
        latency_ms: wall time of the call, retries and back-off included.
        usage: token counts where the provider reports them.
    """

    text: str
    model: str
    provider: str
    provider_model: str
    attempts: int = 1
    latency_ms: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
