"""JSON answers built from dicts that are already JSON-ready (the order views the workflow committed), encoded
with orjson: no model validation on the way out, several times faster than the standard library."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response


class JSONBody(Response):
    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(orjson.dumps(content), status_code=status_code, headers=headers)
