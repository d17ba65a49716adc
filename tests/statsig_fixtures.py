"""Statsig initialize answers shaped like the ones Codex Desktop's client gets (public reports), for tests.

Keys are djb2 hashes of the names (`hash_used: "djb2"`), as ab.chatgpt.com sends them;
`107580212` is `codex-app-vscode-model-availability`. The values are made up but have the
reported shape (`available_models`, `use_hidden_models`, `default_model`).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from shim.statsig import AVAILABILITY_CONFIG, djb2

OPENAI_ALLOWED = ["gpt-6.2-sol", "gpt-6.1-terra", "gpt-5.5"]
AVAILABILITY = {"use_hidden_models": True, "default_model": "gpt-6.2-sol", "available_models": OPENAI_ALLOWED}
OTHER_CONFIG = "codex-app-other-settings"
GATE = "codex-app-some-gate"
LAYER = "codex-app-some-layer"


def initialize_v1(availability: dict[str, Any] | None = None) -> dict[str, Any]:
    value = copy.deepcopy(AVAILABILITY if availability is None else availability)
    return {
        "feature_gates": {djb2(GATE): {"name": djb2(GATE), "value": True, "rule_id": "rule-g", "id_type": "userID",
                                        "secondary_exposures": []}},
        "dynamic_configs": {
            djb2(AVAILABILITY_CONFIG): {"name": djb2(AVAILABILITY_CONFIG), "value": value, "rule_id": "rule-a",
                                        "group": "rule-a", "is_device_based": False, "id_type": "userID",
                                        "secondary_exposures": []},
            djb2(OTHER_CONFIG): {"name": djb2(OTHER_CONFIG), "value": {"flag": "é ✓", "n": 1.5, "big": 12345678901234},
                                 "rule_id": "rule-o", "group": "rule-o", "is_device_based": False, "id_type": "userID",
                                 "secondary_exposures": []},
        },
        "layer_configs": {djb2(LAYER): {"name": djb2(LAYER), "value": {"x": [1, 2]}, "rule_id": "rule-l", "group": "rule-l",
                                        "is_device_based": False, "allocated_experiment_name": "", "explicit_parameters": [],
                                        "secondary_exposures": [], "undelegated_secondary_exposures": []}},
        "sdkParams": {},
        "has_updates": True,
        "generator": "scrapi-nest",
        "time": 1_790_000_000_000,
        "company_lcut": 1_790_000_000_000,
        "evaluated_keys": {"userID": "codex-shim-test"},
        "hash_used": "djb2",
        "derived_fields": {"ip": "127.0.0.1", "country": "ZZ"},
        "user": {"userID": "codex-shim-test"},
        "full_checksum": "1234567",
    }


def initialize_v2(availability: dict[str, Any] | None = None) -> dict[str, Any]:
    """init-v2: configs point at shared `values` entries; the other config shares the availability value."""
    value = copy.deepcopy(AVAILABILITY if availability is None else availability)
    return {
        "response_format": "init-v2",
        "feature_gates": {djb2(GATE): {"v": True, "r": "rule-g", "i": "userID"}},
        "dynamic_configs": {
            djb2(AVAILABILITY_CONFIG): {"r": "rule-a", "v": "111", "i": "userID"},
            djb2(OTHER_CONFIG): {"r": "rule-o", "v": "111", "i": "userID"},  # shares the same value entry
        },
        "layer_configs": {djb2(LAYER): {"r": "rule-l", "v": "222"}},
        "values": {"111": value, "222": {"x": [1, 2]}},
        "has_updates": True,
        "time": 1_790_000_000_000,
        "hash_used": "djb2",
        "user": {"userID": "codex-shim-test"},
    }


def bootstrap_answer(payload: dict[str, Any]) -> dict[str, Any]:
    return {"statsigPayload": json.dumps(payload), "bootstrap_version": 3}
