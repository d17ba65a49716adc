"""codex-shim: route Codex's Responses API calls for chosen models to your own providers."""

__version__ = "0.1.0"
