"""The chat router over providers (issue 6).

``ChatRouter(config).chat(model, messages) -> ChatReply``: local Ollama, Ollama cloud and
OpenAI-compatible endpoints, chosen by the model name (see ``router.py``).
"""

from lakehouse.chat.base import ChatProvider, RetryPolicy
from lakehouse.chat.config import DEFAULT_ENDPOINTS, ChatConfig, OpenAIEndpoint
from lakehouse.chat.messages import ChatMessage, ChatReply, ChatRequest
from lakehouse.chat.ollama_provider import OllamaProvider
from lakehouse.chat.openai_compat import OpenAICompatProvider
from lakehouse.chat.router import ChatRouter

__all__ = [
    "DEFAULT_ENDPOINTS",
    "ChatConfig",
    "ChatMessage",
    "ChatProvider",
    "ChatReply",
    "ChatRequest",
    "ChatRouter",
    "OllamaProvider",
    "OpenAICompatProvider",
    "OpenAIEndpoint",
    "RetryPolicy",
]
