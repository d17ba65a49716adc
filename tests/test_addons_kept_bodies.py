"""What BothSides keeps of a BYOK turn, by who can see it (in-process; the real mitmdump and -w
cases are in test_e2e_kept_bodies.py, mitmweb's in test_e2e_mitmweb.py)."""

from __future__ import annotations

from pathlib import Path

from shim.exchange import ByokExchange
from tests.addon_chain import addon_chain, responses_call

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}


def opened(tmp_path: Path, **options: object) -> ByokExchange:
    with addon_chain(tmp_path, **options) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": [USER], "stream": True}))
        exchange = chain.shim.exchanges.byok(flow)
    assert exchange is not None
    return exchange


def test_with_no_one_to_see_them_a_byok_turn_keeps_no_bodies(tmp_path: Path) -> None:
    exchange = opened(tmp_path)
    assert exchange.sent is None and exchange.raw is None and exchange.codex_request is None and exchange.halves is None


def test_an_addon_that_asks_gets_the_translated_stream_kept(tmp_path: Path) -> None:
    exchange = opened(tmp_path, codex_shim_keep_bodies=True)
    assert exchange.sent is not None
    assert exchange.raw is None and exchange.halves is None  # the other halves are for mitmweb only


def test_keep_bytes_zero_keeps_nothing_even_when_asked(tmp_path: Path) -> None:
    exchange = opened(tmp_path, codex_shim_keep_bodies=True, codex_shim_keep_bytes=0)
    assert exchange.sent is None
