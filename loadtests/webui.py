"""The SLO verdict in Locust's web UI, and a start form without fields the profiles ignore.

- an "SLO" tab (Locust's extended tabs): one row per threshold (limit, value, pass/FAIL), refreshed with the
  stats while the run goes and kept after it ends;
- the same document under ``"slo"`` in ``GET /stats/requests`` (what the UI polls) and at ``GET /slo``;
- the start form: users and ramp-up are disabled (the profile's shape derives publishers from ``--rate``;
  Locust's tooltip says so), and the Host field explains that ``--callbacks-env`` names the endpoints
  instead of warning that the user class has no host.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request
from locust.env import Environment as LocustEnvironment

SLO_TAB = "slo"
HOST_NOTE = "(unused: --callbacks-env names the endpoints)"
TABLE = [
    {"key": "check", "title": "Threshold"},
    {"key": "limit", "title": "Limit"},
    {"key": "value", "title": "Value"},
    {"key": "verdict", "title": "Verdict"},
]

Verdict = Callable[[], dict[str, Any]]


def install(environment: LocustEnvironment, verdict: Verdict) -> None:
    web_ui = environment.web_ui
    if web_ui is None:
        return
    web_ui.template_args["extended_tabs"] = [{"title": "SLO", "key": SLO_TAB}]
    web_ui.template_args["extended_tables"] = [{"key": SLO_TAB, "structure": TABLE}]
    _explain_form(web_ui)
    app = web_ui.app
    assert app is not None

    def slo() -> Response:
        return jsonify(verdict())

    def with_verdict(response: Response) -> Response:
        if request.path.rstrip("/").endswith("/stats/requests") and response.is_json:
            doc = response.get_json()
            if isinstance(doc, dict):
                current = verdict()
                overall = {"check": f"overall ({current['state']})", "limit": "", "value": "",
                           "verdict": current["verdict"]}  # fmt: skip
                doc["slo"] = current
                doc["extended_stats"] = [{"key": SLO_TAB, "data": [overall, *current["rows"]]}]
                response.set_data(json.dumps(doc))
        return response

    app.add_url_rule("/slo", "slo", slo)
    app.after_request(with_verdict)


def _explain_form(web_ui: Any) -> None:
    """Wrap ``update_template_args`` (Locust calls it before rendering the page) to adjust the form."""
    original = web_ui.update_template_args

    def update() -> None:
        original()
        web_ui.template_args.update(
            hide_common_options=True,  # users / ramp-up: the shape decides (run time: -t on the command line)
            missing_host_warning=False,
            host=web_ui.environment.host or HOST_NOTE,
        )

    web_ui.update_template_args = update
