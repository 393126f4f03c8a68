"""The Render blueprint starts the same server the README documents, wired to Redis and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import yaml

BLUEPRINT = Path(__file__).resolve().parents[1] / "render.yaml"


def test_blueprint_runs_stateless_http_instances_on_shared_stores():
    blueprint = yaml.safe_load(BLUEPRINT.read_text(encoding="utf-8"))
    web = next(service for service in blueprint["services"] if service["type"] == "web")
    assert web["startCommand"].startswith("billy-mcp serve --transport http --host 0.0.0.0")
    assert web["healthCheckPath"] == "/health/ready"
    assert (web["scaling"]["minInstances"], web["scaling"]["maxInstances"]) == (2, 10)
    env = {item["key"]: item for item in web["envVars"]}
    assert env["BILLY_REDIS_URL"]["fromService"]["type"] == "keyvalue"
    assert "fromDatabase" in env["BILLY_DATABASE_URL"]
    assert env["BILLY_ACCESS_TOKEN"]["sync"] is False
