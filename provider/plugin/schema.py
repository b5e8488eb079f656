"""The package schema the plugin serves from GetSchema. No I/O.

It is provider.schema's document, the one committed as schema.json (package
`kubevirt`, the provider configuration, `name` optional): what the plugin
serves is what the SDK is generated from.
"""

from __future__ import annotations

import json
from typing import Any

from ..schema import build_schema


def plugin_schema() -> dict[str, Any]:
    return build_schema()


def plugin_schema_json() -> str:
    return json.dumps(plugin_schema(), indent=2)
