"""The plan as the interface's JSON object (``plan --format json``, ``drift --format json``)."""

from __future__ import annotations

import json

from reconciler.plan import Plan


def render_json(plan: Plan) -> str:
    """``plan.to_json()`` as indented UTF-8 JSON text ending with a newline; validates against
    ``schemas/plan.schema.json``."""
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n"
