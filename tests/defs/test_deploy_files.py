"""The deployment files say what the code does: same Celery settings, secrets only through the
environment, an image built from a Python base and the project's own install. Nothing is built
or pulled here."""

from __future__ import annotations

import re

import pytest
import yaml

from bsc_pipeline.defs.executors import CELERY_SETTINGS
from bsc_pipeline.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
SECRET_NAMES = re.compile(r"PASSWORD|SECRET|BROKER|WAREHOUSE_URL|PG_URL|ACCESS_KEY", re.I)


def test_the_dagster_celery_worker_config_matches_the_executor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dagster_celery.cli import get_validated_config

    monkeypatch.setenv("BSC_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
    monkeypatch.setenv("BSC_CELERY_BACKEND", "rpc://")
    raw = yaml.safe_load((DEPLOY / "celery.yaml").read_text(encoding="utf-8"))
    assert raw["execution"]["config"]["broker"] == {"env": "BSC_CELERY_BROKER"}
    config = get_validated_config(str(DEPLOY / "celery.yaml"))
    assert config["config_source"] == CELERY_SETTINGS
    assert config["broker"] == "pyamqp://guest:guest@127.0.0.1:5672//"


def test_the_image_builds_from_a_python_base_and_the_projects_install() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "k8s" / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    assert any(line.startswith("RUN pip install .") for line in lines)
    for line in lines:
        if line.startswith("COPY "):
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (PROJECT_ROOT / source).exists(), f"{source} is not in the repository"
        assert not (line.startswith(("ENV", "ARG")) and SECRET_NAMES.search(line)), line


def test_workers_and_code_location_get_secrets_only_as_environment() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "celery-workers.yaml").read_text("utf-8")))
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert config["data"]["BSC_EXECUTOR"] == "celery"
    assert config["data"]["BSC_LAKE_DIR"].startswith("s3://")
    assert not [k for k in config["data"] if SECRET_NAMES.search(k)], "secrets in a ConfigMap"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:3] == ["bsc", "worker", "start"]
    assert {"secretRef": {"name": "bsc-secrets"}} in container["envFrom"]

    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text(encoding="utf-8"))
    code = values["dagster-user-deployments"]["deployments"][0]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    for block in (code, launcher):
        assert {"name": "bsc-secrets"} in block["envSecrets"]
        assert {"name": "bsc-config"} in block["envConfigMaps"]
        assert "env" not in block or not [e for e in block["env"] if SECRET_NAMES.search(str(e))]
    assert values["concurrency"]["pools"]["defaultLimit"] == 1
