"""The deployment files (ops/deploy) agree with the service: settings, replicas, ports, health.

No container runtime is needed: the files are parsed and checked against `Settings`, so a
renamed setting or port cannot leave them quietly wrong.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from coordinator.settings import Settings

pytestmark = pytest.mark.unit

DEPLOY = Path(__file__).resolve().parents[1] / "ops" / "deploy"
SETTING = re.compile(r"^#?(COORDINATOR_[A-Z0-9_]+)=(.*)$")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")
FIELDS = {f"COORDINATOR_{name.upper()}" for name in Settings.model_fields}


def compose() -> dict[str, Any]:
    """compose.yaml as compose reads it (merge keys resolved)."""
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def interpolated(value: str) -> str:
    """`value` with `${NAME...}` replaced by a stand-in, as compose would fill it from .env."""
    return INTERPOLATION.sub(lambda match: f"{match.group(1).lower()}-value", value)


def settings_of(environment: dict[str, str]) -> Settings:
    """The Settings a process with exactly this environment builds (validates every value)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in os.environ:
            if name.startswith("COORDINATOR_"):
                patch.delenv(name)
        for name, value in environment.items():
            patch.setenv(name, interpolated(str(value)))
        return Settings()


def replicas(services: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run `coordinator serve`."""
    return {
        name: service
        for name, service in services.items()
        if service.get("command") == ["coordinator", "serve"]
    }


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: every value of every key, by section (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (DEPLOY / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def env_example(name: str) -> dict[str, str]:
    """The settings an environment file template lists, commented (default) or not."""
    found = {}
    lines = (DEPLOY / name).read_text().splitlines()
    for number, line in enumerate(lines):
        match = SETTING.match(line)
        if match:
            assert lines[number - 1].startswith("#"), f"{match.group(1)} has no comment above"
            found[match.group(1)] = match.group(2)
    return found


def test_compose_runs_two_replicas_of_serve_behind_the_proxy_and_after_migrate() -> None:
    """Two `serve` replicas wait for the owner's migration; only the proxy publishes ports."""
    services = compose()["services"]
    serving = replicas(services)
    assert sorted(serving) == ["coordinator-1", "coordinator-2"]
    assert services["db"]["image"] == "postgres:16"
    assert services["migrate"]["command"] == ["coordinator", "migrate"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"] == ["80:80", "443:443"]
    for service in serving.values():
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "/ready" in " ".join(service["healthcheck"]["test"])
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_every_compose_setting_is_a_setting_with_a_valid_value() -> None:
    """Each COORDINATOR_ name is a field of Settings, and the values validate."""
    for name, service in compose()["services"].items():
        environment = {
            key: value
            for key, value in service.get("environment", {}).items()
            if key.startswith("COORDINATOR_")
        }
        assert set(environment) <= FIELDS, (name, set(environment) - FIELDS)
        if environment:
            settings_of(environment)


def test_replicas_share_the_key_volume_and_listen_where_the_proxy_and_checks_look() -> None:
    """Same signing key folder on one shared volume; the port is the one Caddy proxies to."""
    services = compose()["services"]
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    volumes = set()
    for name, service in replicas(services).items():
        settings = settings_of(service["environment"])
        assert settings.host == "0.0.0.0"  # noqa: S104  inside its container, behind the proxy
        assert f"{name}:{settings.port}" in caddyfile
        assert f"127.0.0.1:{settings.port}/ready" in " ".join(service["healthcheck"]["test"])
        assert str(settings.port) in service["expose"]
        mounts = {mount.split(":")[1]: mount.split(":")[0] for mount in service["volumes"]}
        key_dir = str(settings.signing_key_dir)
        holder = max((path for path in mounts if key_dir.startswith(path)), key=len)
        volumes.add(mounts[holder])
        assert str(settings.data_dir) == holder
        stop = int(service["stop_grace_period"].removesuffix("s"))
        assert stop > settings.shutdown_timeout_seconds
    assert len(volumes) == 1
    assert volumes <= set(compose()["volumes"])
    assert "flush_interval -1" in caddyfile
    assert "health_uri /ready" in caddyfile


def test_replicas_connect_as_the_role_the_owner_grants_on_the_database_it_creates() -> None:
    """The service's role is the migrate's COORDINATOR_APP_ROLE; the database is the db's."""
    services = compose()["services"]
    migrate = settings_of(services["migrate"]["environment"])
    assert migrate.database_url is not None
    owner = urlsplit(migrate.database_url)
    database = services["db"]["environment"]["POSTGRES_DB"]
    assert (owner.username, owner.hostname, owner.path) == (
        services["db"]["environment"]["POSTGRES_USER"],
        "db",
        f"/{database}",
    )
    initdb = (DEPLOY / "initdb" / "10-homeward-app-role.sh").read_text()
    for service in replicas(services).values():
        settings = settings_of(service["environment"])
        assert settings.app_role is None
        assert settings.database_url is not None
        url = urlsplit(settings.database_url)
        assert (url.username, url.hostname, url.path) == (migrate.app_role, "db", f"/{database}")
        assert f"CREATE ROLE {migrate.app_role} LOGIN" in initdb


def test_the_environment_template_lists_every_setting_with_a_comment() -> None:
    """homeward.env.example names each Settings field once, and nothing else."""
    listed = env_example("homeward.env.example")
    assert set(listed) - FIELDS == set(), "these are not settings (any more)"
    missing = sorted(FIELDS - set(listed))
    assert not missing, f"add {missing} to ops/deploy/homeward.env.example, with a comment"
    settings_of({name: value for name, value in listed.items() if value})


def test_templates_hold_placeholders_never_passwords() -> None:
    """Every password in a committed template is an obvious placeholder."""
    for name in ("homeward.env.example", "homeward-migrate.env.example"):
        for value in env_example(name).values():
            password = urlsplit(value).password if value.startswith("postgresql://") else None
            assert password is None or password.startswith("CHANGE-ME"), name
    compose_env = (DEPLOY / "compose.env.example").read_text()
    for line in compose_env.splitlines():
        if "PASSWORD=" in line:
            assert line.split("=", 1)[1].startswith("CHANGE-ME")
    migrate = env_example("homeward-migrate.env.example")
    assert set(migrate) <= FIELDS
    assert migrate["COORDINATOR_APP_ROLE"] == "homeward_app"


@pytest.mark.parametrize(
    "name", ["homeward.service", "homeward-migrate.service", "homeward-keys-retire.service"]
)
def test_the_systemd_units_are_hardened(name: str) -> None:
    """A dedicated user, a read-only system but the data folder, no new privileges."""
    service = unit(name)["Service"]
    data_dir = env_example("homeward.env.example")["COORDINATOR_DATA_DIR"]
    assert service["User"] == ["homeward"] or service.get("DynamicUser") == ["yes"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"]
    assert data_dir in service["ReadWritePaths"]
    assert service["EnvironmentFile"][0] == "/etc/homeward/homeward.env"
    assert service["CapabilityBoundingSet"] == [""]


def test_the_service_unit_restarts_on_failure_and_drains_on_stop() -> None:
    """Restart on failure; stop with time enough for in-flight requests; migrate first."""
    homeward = unit("homeward.service")
    service = homeward["Service"]
    assert service["ExecStart"][0].endswith("coordinator serve")
    assert service["Restart"] == ["on-failure"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert int(service["TimeoutStopSec"][0]) > Settings().shutdown_timeout_seconds
    assert "homeward-migrate.service" in homeward["Unit"]["Requires"]
    assert "homeward-migrate.service" in " ".join(homeward["Unit"]["After"])
    migrate = unit("homeward-migrate.service")["Service"]
    assert migrate["ExecStart"][0].endswith("coordinator migrate")
    assert migrate["Type"] == ["oneshot"]


def test_a_timer_retires_old_keys_weekly_as_the_schema_owner() -> None:
    """Erasures become final on a schedule: the timer starts the retire, which runs as the owner
    (its connection from migrate.env) since compacting the key table needs the owner."""
    retire = unit("homeward-keys-retire.service")["Service"]
    assert retire["ExecStart"][0].endswith("coordinator keys rotate --retire")
    assert retire["Type"] == ["oneshot"]
    assert "-/etc/homeward/migrate.env" in retire["EnvironmentFile"]
    timer = unit("homeward-keys-retire.timer")["Timer"]
    assert timer["OnCalendar"] == ["weekly"]
    assert timer["Persistent"] == ["true"]


def test_the_container_runs_the_installed_project_as_a_user() -> None:
    """python:3.11-slim, the project installed with its pins, a non-root user, `serve`."""
    containerfile = (DEPLOY / "Containerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", containerfile, re.MULTILINE)
    users = re.findall(r"^USER (\S+)", containerfile, re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}
    assert "pip install" in containerfile
    assert containerfile.rstrip().endswith('CMD ["coordinator", "serve"]')
    for service in compose()["services"].values():
        if "build" in service:
            assert service["build"]["dockerfile"] == "ops/deploy/Containerfile"
