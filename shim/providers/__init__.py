"""Provider registry: one line per provider, mapping config names to provider modules."""

from __future__ import annotations

from . import anthropic, chat, responses
from .base import Provider

PROVIDERS: dict[str, Provider] = {
    "openai": chat,
    "generic-chat-completion-api": chat,
    "ollama": chat,
    "responses": responses,
    "anthropic": anthropic,
}
