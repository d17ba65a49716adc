"""ChatGPT-login mode for end-to-end tests: a synthetic auth.json and a fake chatgpt.com.

Codex (0.169 and 0.171) decodes the JWTs in `$CODEX_HOME/auth.json` without verifying them (codex-rs
`login/src/token_data.rs`: header.payload.signature, each part non-empty, payload base64url JSON
with the claims under `https://api.openai.com/auth`), so unsigned tokens with a far `exp` and a
fresh `last_refresh` keep it logged in and offline. The fake backend answers what a turn needs
(`/backend-api/wham/accounts/check`) and the model catalog; mitmproxy's `--map-remote` sends
`https://chatgpt.com/…` to it as plain HTTP.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fakes.http_server import FakeServer, Reply
from tests.harness import Mitmdump, codex_binary, codex_env, free_port

ACCOUNT_ID = "acct-codex-shim-test"
USER_ID = "user-codex-shim-test"
EMAIL = "codex-shim-test@example.com"
CATALOG_ETAG = '"fake-catalog-v1"'


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_jwt(claims: dict[str, Any]) -> str:
    return f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url(claims)}.unsigned"


def write_chatgpt_auth(codex_home: Path, account_id: str = ACCOUNT_ID, plan: str = "plus") -> dict[str, Any]:
    """Write `codex_home/auth.json` for a ChatGPT login that Codex accepts without a network."""
    claims = {
        "email": EMAIL,
        "exp": int(time.time()) + 10 * 365 * 24 * 3600,
        "https://api.openai.com/auth": {
            "chatgpt_plan_type": plan,
            "chatgpt_account_id": account_id,
            "chatgpt_user_id": USER_ID,
        },
    }
    auth = {
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": unsigned_jwt(claims),
            "access_token": unsigned_jwt(claims),
            "refresh_token": "rt-codex-shim-test",
            "account_id": account_id,
        },
        "last_refresh": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "auth.json").write_text(json.dumps(auth, indent=2))
    return auth


def accounts_check_body(account_id: str = ACCOUNT_ID) -> dict[str, Any]:
    account = {"id": account_id, "workspace_backend_origin": "NO_CONSTRAINT",
               "account_routing_override": "NO_CONSTRAINT", "structure": "personal"}
    return {"accounts": [account], "account_ordering": [account_id], "default_account_id": account_id}


def bundled_catalog(home: Path) -> dict[str, Any]:
    """The catalog shipped inside the Codex binary (`codex debug models --bundled`): a real answer."""
    result = subprocess.run([str(codex_binary()), "debug", "models", "--bundled"], capture_output=True, text=True,
                            timeout=60, env=codex_env(None, home), stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@contextmanager
def chatgpt_backend(catalog: dict[str, Any] | None, account_id: str = ACCOUNT_ID) -> Iterator[FakeServer]:
    """A fake chatgpt.com: accounts check, the model catalog (when given), 404 for the rest."""

    def handle(path: str, headers: dict[str, str], body: bytes) -> Reply:
        bare = path.split("?", 1)[0]
        if bare == "/backend-api/wham/accounts/check":
            return Reply.json(200, accounts_check_body(account_id))
        if bare == "/backend-api/codex/models" and catalog is not None:
            return Reply.json(200, catalog, {"etag": CATALOG_ETAG})
        return Reply.json(404, {"detail": "Not Found"})

    with FakeServer(handle) as server:
        yield server


def map_chatgpt_to(port: int) -> list[str]:
    """mitmdump arguments that send https://chatgpt.com/… to http://127.0.0.1:port/…."""
    return ["--map-remote", rf"|^https://chatgpt\.com(:443)?/|http://127.0.0.1:{port}/"]


def map_chatgpt_nowhere() -> list[str]:
    """chatgpt.com "unreachable", deterministically: mapped to a loopback port nobody listens on."""
    return map_chatgpt_to(free_port())


def codex_debug_models(proxy: Mitmdump, home: Path, timeout: float = 60.0) -> tuple[dict[str, Any], str]:
    """`codex debug models` through the proxy: the catalog the client ends up with, and stderr."""
    write_chatgpt_auth(home)
    result = subprocess.run([str(codex_binary()), "debug", "models"], capture_output=True, text=True,
                            timeout=timeout, env=codex_env(proxy, home), stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout), result.stderr


def run_codex_chatgpt(proxy: Mitmdump, home: Path, model: str, prompt: str, timeout: float = 120.0,
                      extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`codex exec` in ChatGPT-login mode through the proxy (pair with `chatgpt_backend` + map-remote)."""
    write_chatgpt_auth(home)
    workdir = home / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(codex_binary()), "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
         "-C", str(workdir), "-m", model, prompt],
        capture_output=True, text=True, timeout=timeout, env=codex_env(proxy, home, extra=extra_env), stdin=subprocess.DEVNULL,
    )
