"""The TOML path: describe the running local stack in a file and run a scenario through it."""

from __future__ import annotations

import pytest

from harness.environment import Environment
from harness.scenarios import Scenario

pytestmark = [pytest.mark.integration]


def test_scenario_runs_against_an_environment_loaded_from_toml(callbacks_env, callbacks_run_id, tmp_path):
    path = tmp_path / "described.toml"
    path.write_text(callbacks_env.to_toml(), encoding="utf-8")
    env = Environment.from_toml(path)
    assert env == callbacks_env
    scenario = Scenario.open(env, callbacks_run_id)
    try:
        client = env.role("plain")
        [published] = scenario.publish_envelopes(client, [scenario.new_id("toml")])
        [record] = scenario.wait_callbacks(1, message_id=published.message_id, timeout_s=20)
        assert record["response"]["status"] == 200
        assert record["path"] == "/" + scenario.targets(client)[0]
    finally:
        scenario.close()
