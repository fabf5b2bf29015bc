"""A real Python handler for simulation tests: reports the SQS records whose body has "fail": "yes"."""

from __future__ import annotations

import json
from typing import Any


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failed = [{"itemIdentifier": r["messageId"]} for r in event.get("Records", [])
              if json.loads(r["body"]).get("fail") == "yes"]
    return {"batchItemFailures": failed}
