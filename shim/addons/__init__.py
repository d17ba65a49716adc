"""The mitmproxy addons of codex-shim, one concern each; `addons/codex_shim.py` composes them."""
