"""docker-compose.yml, the Dockerfile and deploy/: a valid Compose file whose services are configured with
Baton's real settings, and an image that runs code that exists.

No Docker engine runs here, so nothing is started: the file is validated against the Compose Specification's
schema when `../shared/reference/compose-spec.json` is present (CI has it), and checked for consistency in
any case — settings names, shared configuration, databases, search attributes, start-up order, commands."""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import json
import os
import re
import shlex
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy import make_url

from api.app import create_app
from models.settings import Role, Settings
from workflows import search_attributes

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_SPEC = ROOT.parent / "shared" / "reference" / "compose-spec.json"
DOCKERFILE = ROOT / "Dockerfile"
PREFIX = Settings.model_config.get("env_prefix", "")
FIELDS = {name.lower() for name in Settings.model_fields}
BATON_SERVICES = ("api", "worker", "migrate")
ONE_SHOTS = ("temporal-schema", "temporal-setup", "migrate")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    return compose["services"][name]


def _environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


def _unknown_settings(names: list[str]) -> list[str]:
    """The names that carry Baton's prefix but are not a field of Settings (case-insensitive, as pydantic)."""
    return [name for name in names if name.upper().startswith(PREFIX) and name[len(PREFIX) :].lower() not in FIELDS]


_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$, as `docker compose config` resolves them."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3)
        found = variables.get(name)
        if found is None or (found == "" and operator and operator.startswith(":")):
            if operator and operator.endswith("?"):
                raise KeyError(f"{name} is required: {argument}")
            return argument if operator else ""
        return found

    return _VARIABLE.sub(substitute, value)


def _load_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dotenv(text: str) -> dict[str, str]:
    pairs = (shlex.split(line)[0].split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return dict(pairs)


@pytest.fixture(scope="module")
def dotenv(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What `python3 deploy/make_env.py` writes for a new installation."""
    target = tmp_path_factory.mktemp("env") / ".env"
    make_env = _load_script(ROOT / "deploy" / "make_env.py")
    assert make_env.main([str(target)]) == 0
    assert make_env.main([str(target)]) == 1, "make_env.py must never overwrite an existing .env"
    return _dotenv(target.read_text())


# --- the Compose Specification ---------------------------------------------------------------------------


def _spec_errors(document: dict[str, Any]) -> list[str]:
    import jsonschema

    schema = json.loads(COMPOSE_SPEC.read_text())
    validator = jsonschema.Draft7Validator(schema)  # the spec declares draft-07
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


needs_spec = pytest.mark.skipif(
    not COMPOSE_SPEC.exists(), reason=f"{COMPOSE_SPEC} not present (reference data that CI provides)"
)


@needs_spec
def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    assert _spec_errors(compose) == []


@needs_spec
def test_compose_validation_rejects_what_docker_compose_rejects(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["replica"] = 3  # a typo of deploy.replicas
    broken["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_finished"
    failing = {error.split(":", 1)[0] for error in _spec_errors(broken)}
    assert {"services/worker", "services/api/depends_on"} <= failing


# --- Baton's settings ------------------------------------------------------------------------------------


def test_stack_has_postgres_temporal_its_ui_and_baton(compose: dict[str, Any]) -> None:
    expected = {"postgres", "temporal", "temporal-ui", "api", "worker", *ONE_SHOTS}
    assert expected <= set(compose["services"])


def test_every_baton_variable_is_a_setting(compose: dict[str, Any]) -> None:
    in_services = [name for service in compose["services"].values() for name in _environment(service)]
    interpolated = re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text())
    assert _unknown_settings(in_services + interpolated) == []
    assert _unknown_settings(["BATON_TASK_QUEUE", "baton_api_keys", "BATON_TASKQUEUE", "OTHER"]) == ["BATON_TASKQUEUE"]


def test_api_worker_and_migrations_share_one_configuration(compose: dict[str, Any]) -> None:
    environments = {name: _environment(_service(compose, name)) for name in BATON_SERVICES}
    shared = set.intersection(*(set(env) for env in environments.values()))
    for key in ("BATON_TEMPORAL_ADDRESS", "BATON_TEMPORAL_NAMESPACE", "BATON_TASK_QUEUE", "BATON_DATABASE_URL"):
        assert key in shared
    for key in shared:
        assert len({env[key] for env in environments.values()}) == 1, key
    assert "BATON_API_KEYS" in environments["api"]


@pytest.mark.parametrize("name", BATON_SERVICES)
def test_baton_environment_loads_into_settings(
    compose: dict[str, Any], dotenv: dict[str, str], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [key for key in os.environ if key.upper().startswith(PREFIX)]:
        monkeypatch.delenv(key)
    for key, value in _environment(_service(compose, name)).items():
        if value is not None:  # None: passed through from the operator's shell or .env
            monkeypatch.setenv(key, _interpolate(value, dotenv))
        elif dotenv.get(key):
            monkeypatch.setenv(key, dotenv[key].strip("'"))
    monkeypatch.setenv("BATON_STRIPE_API_KEY", "sk_live_the_operators_own")  # the one secret make_env cannot know
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.environment == "production" and settings.codec_enabled, "production fails closed"

    assert settings.database_auto_create is False, "tables come from the migrate service"
    url = make_url(settings.database_url)
    assert (url.drivername, url.host, url.port) == ("postgresql+psycopg", "postgres", 5432)
    assert url.password == dotenv["POSTGRES_BATON_PASSWORD"]
    assert _databases_made_at_init().get(url.database) == url.username, "made, and owned by the role, at init"
    host, _, port = settings.temporal_address.rpartition(":")
    assert host == "temporal" and port == "7233"
    setup, ui = _environment(_service(compose, "temporal-setup")), _environment(_service(compose, "temporal-ui"))
    assert settings.temporal_namespace == setup["TEMPORAL_NAMESPACE"] == ui["TEMPORAL_DEFAULT_NAMESPACE"]
    assert setup["TEMPORAL_ADDRESS"] == ui["TEMPORAL_ADDRESS"] == settings.temporal_address
    if name == "api":
        assert {holder.role for holder in settings.api_keys.values()} >= {Role.head_office, Role.channel}


def test_make_env_writes_every_required_variable(dotenv: dict[str, str]) -> None:
    required = set(re.findall(r"\$\{(\w+):?\?", COMPOSE_FILE.read_text()))
    assert set(dotenv) >= required
    for key in required - {"BATON_API_KEYS"}:
        assert re.fullmatch(r"[A-Za-z0-9_-]{24,}", dotenv[key]), f"{key} must be long and URL-safe"


# --- PostgreSQL and Temporal -----------------------------------------------------------------------------


def _databases_made_at_init() -> dict[str, str]:
    script = (ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
    return dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+);", script))


def test_temporal_databases_are_made_at_init_and_owned_by_its_role(compose: dict[str, Any]) -> None:
    databases = _databases_made_at_init()
    for name in ("temporal", "temporal-schema"):
        env = _environment(_service(compose, name))
        assert databases[env["DBNAME"]] == databases[env["VISIBILITY_DBNAME"]] == env["POSTGRES_USER"]
        assert env["POSTGRES_SEEDS"] == "postgres"
    mounts = _service(compose, "postgres")["volumes"]
    assert "./deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/10-init-databases.sh:ro" in mounts


def test_search_attributes_made_on_start_are_the_workflows(compose: dict[str, Any]) -> None:
    script = _service(compose, "temporal-setup")["entrypoint"][-1].replace("/baton-deploy", "deploy/temporal")
    made = dict(re.findall(r"^ensure_search_attribute (\w+) (\w+)$", (ROOT / script).read_text(), re.MULTILINE))
    expected = {key.name: key.indexed_value_type.name for key in search_attributes.ALL}
    assert {name: kind.upper() for name, kind in made.items()} == expected


def test_one_shots_run_in_order_before_baton(compose: dict[str, Any]) -> None:
    def waits_for(service: str) -> dict[str, str]:
        return {name: dep["condition"] for name, dep in _service(compose, service)["depends_on"].items()}

    assert waits_for("temporal-schema") == {"postgres": "service_healthy"}
    assert waits_for("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert waits_for("temporal-setup") == {"temporal": "service_healthy"}
    assert waits_for("migrate") == {"postgres": "service_healthy"}
    for name in ("api", "worker"):
        assert waits_for(name) == {
            "migrate": "service_completed_successfully",
            "temporal-setup": "service_completed_successfully",
        }
    for name in ("postgres", "temporal", "api", "worker"):
        assert _service(compose, name)["healthcheck"]["test"]
    for name in ONE_SHOTS:
        assert _service(compose, name)["restart"] == "no"


def test_workers_scale_and_only_the_api_is_published_beyond_loopback(compose: dict[str, Any]) -> None:
    worker = _service(compose, "worker")
    assert "container_name" not in worker and "ports" not in worker and "hostname" not in worker
    assert all("container_name" not in service for service in compose["services"].values())
    env = _environment(worker)
    for setting in ("BATON_WORKER_HEALTH_ADDRESS", "BATON_WORKER_METRICS_ADDRESS"):
        assert env[setting].rpartition(":")[2] in worker["expose"]
    published = {name: service["ports"] for name, service in compose["services"].items() if "ports" in service}
    assert set(published) == {"api", "temporal", "temporal-ui"}
    for name in ("temporal", "temporal-ui"):
        assert all(port.startswith("127.0.0.1:") for port in published[name]), name


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source


# --- the image -------------------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in text.splitlines())
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


def _copied() -> list[str]:
    sources = []
    for instruction, arguments in _instructions():
        if instruction == "COPY":
            sources += [arg.rstrip("/") for arg in arguments.split()[:-1] if not arg.startswith("--")]
    return sources


def _glob(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/"))
    wild = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wild.get(part, re.escape(part)) for part in parts))


def _ignored(path: str) -> bool:
    """.dockerignore as Docker reads it: the last matching pattern wins; a match on a parent counts."""
    ignored = False
    prefixes = ["/".join(path.split("/")[: i + 1]) for i in range(path.count("/") + 1)]
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            pattern = _glob(line.lstrip("!"))
            if any(pattern.fullmatch(prefix) for prefix in prefixes):
                ignored = not line.startswith("!")
    return ignored


def test_build_context_holds_what_the_image_copies_and_no_more() -> None:
    for source in _copied():
        assert (ROOT / source).exists(), source
        assert not _ignored(source) and not _ignored(f"{source}/x.py"), f"{source} is left out of the context"
    for path in (".venv/bin/python", "var/baton.db", "tests/conftest.py", ".git/HEAD", ".env", "api/__pycache__/a.pyc"):
        assert _ignored(path), path


def test_image_installs_the_whole_package_without_dev_extras() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = pyproject["tool"]["setuptools"]
    needed = {package.split(".")[0] for package in setuptools["packages"]}
    needed |= {f"{module}.py" for module in setuptools.get("py-modules", [])}
    needed |= {"pyproject.toml", pyproject["project"]["readme"]}
    assert needed <= set(_copied())
    instructions = _instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(arguments for instruction, arguments in instructions if instruction == "RUN")
    assert "pip install" in runs and "[dev]" not in runs
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")


def _check_command(command: list[str]) -> None:
    """The program exists in the image and runs code that exists in the repository and is copied."""
    copied = _copied()
    program, *arguments = command
    if program == "uvicorn":
        module, _, attribute = next(arg for arg in arguments if not arg.startswith("-")).partition(":")
        assert callable(getattr(importlib.import_module(module), attribute))
        assert module.split(".")[0] in copied
    elif program == "python":
        script = ROOT / arguments[0]
        assert arguments[0] in copied and 'if __name__ == "__main__":' in script.read_text()
    elif program == "alembic":
        config = arguments[arguments.index("-c") + 1]
        assert config in copied
        location = re.search(r"script_location = %\(here\)s/(\w+)", (ROOT / config).read_text())
        assert location and location.group(1) in copied and (ROOT / location.group(1) / "env.py").exists()
    else:
        raise AssertionError(f"unknown program {program!r}")


def test_dockerfile_default_command_runs_the_api() -> None:
    cmd = [arguments for instruction, arguments in _instructions() if instruction == "CMD"][-1]
    _check_command(json.loads(cmd))


@pytest.mark.parametrize("name", BATON_SERVICES)
def test_service_commands_run_code_that_exists(compose: dict[str, Any], name: str) -> None:
    _check_command(_service(compose, name)["command"])
    assert "entrypoint" not in _service(compose, name)


def test_healthchecks_ask_real_endpoints(compose: dict[str, Any]) -> None:
    paths = set(create_app(Settings(_env_file=None)).openapi()["paths"])  # type: ignore[call-arg]
    api = _service(compose, "api")
    port = api["command"][api["command"].index("--port") + 1]
    assert api["ports"][0].rpartition(":")[2] == port
    worker_port = _environment(_service(compose, "worker"))["BATON_WORKER_HEALTH_ADDRESS"].rpartition(":")[2]
    for name, expected_port in (("api", port), ("worker", worker_port)):
        code = _service(compose, name)["healthcheck"]["test"][-1]
        ast.parse(code)
        url = urlsplit(re.search(r"'(http://[^']+)'", code).group(1))  # type: ignore[union-attr]
        assert str(url.port) == expected_port, url
        if name == "api":
            assert url.path in paths, url
