"""The Helm chart under deploy/ renders valid manifests, and deploy/check_manifests.py
catches what would break a release: a schema error, a second beat, an autoscaler or a
disruption budget that finds the wrong pods, processes that differ from docker-compose.yml,
an app the image leaves out.

Renders with the real Helm that deploy/check fetches (or $HELM); skipped, saying so,
before the first deploy/check has fetched it.
"""

import copy
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "pls-ops-console"
PRODUCTION = ROOT / "deploy" / "values-production.yaml"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "deploy" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checks = load("check_manifests")


@pytest.fixture(scope="module")
def helm() -> str:
    cached = load("fetch_helm").cache_dir() / "helm"
    path = os.environ.get("HELM") or (str(cached) if cached.exists() else shutil.which("helm"))
    if not path:
        pytest.skip("needs Helm: run deploy/check once (it fetches the pinned one) or set HELM")
    return path


def render(helm: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [helm, "template", "pls-ops-console", str(CHART), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def documents(helm: str, *args: str) -> list[dict]:
    rendered = render(helm, *args)
    assert rendered.returncode == 0, rendered.stderr
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


@pytest.fixture(scope="module")
def manifests(helm) -> list[dict]:
    return documents(helm)


def problems(docs: list[dict]) -> list[str]:
    return [
        *checks.schema_problems(docs, ["1.27.0"]),
        *checks.chart_problems(docs),
        *checks.compose_problems(docs),
    ]


def find(docs: list[dict], kind: str, component: str) -> dict:
    (doc,) = (
        d
        for d in docs
        if d["kind"] == kind and d["metadata"]["labels"][checks.COMPONENT] == component
    )
    return doc


def test_default_and_production_values_render_manifests_without_problems(helm, manifests):
    production = documents(helm, "-f", str(PRODUCTION))

    assert problems(manifests) == []
    assert problems(production) == []
    assert find(production, "Ingress", "web")["spec"]["rules"][0]["host"] == "console.example.com"


def test_a_misspelled_field_fails_the_kubernetes_schema(manifests):
    docs = copy.deepcopy(manifests)
    web = find(docs, "Deployment", "web")
    container = web["spec"]["template"]["spec"]["containers"][0]
    container["readynessProbe"] = container.pop("readinessProbe")

    found = problems(docs)

    assert any("'readynessProbe' was unexpected" in problem for problem in found)
    assert any("readinessProbe must GET /ready" in problem for problem in found)


def test_a_second_beat_or_an_autoscaler_on_beat_is_reported(manifests):
    docs = copy.deepcopy(manifests)
    beat = find(docs, "Deployment", "beat")
    beat["spec"]["replicas"] = 2
    autoscaler = copy.deepcopy(find(docs, "HorizontalPodAutoscaler", "worker"))
    autoscaler["spec"]["scaleTargetRef"]["name"] = beat["metadata"]["name"]
    docs.append(autoscaler)

    found = problems(docs)

    assert any("beat must be replicas 1 with strategy Recreate" in p for p in found)
    assert any("which must stay as it is" in p for p in found)


def test_a_disruption_budget_that_selects_no_pods_is_reported(manifests):
    docs = copy.deepcopy(manifests)
    budget = find(docs, "PodDisruptionBudget", "worker")
    budget["spec"]["selector"]["matchLabels"][checks.COMPONENT] = "workers"

    assert any("selects 0 Deployments' pods, not one" in p for p in problems(docs))


def test_a_worker_on_other_queues_than_compose_runs_is_reported(manifests, tmp_path):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    compose["services"]["artifacts-worker"]["command"] = [
        "celery", "-A", "config", "worker", "-Q", "artifacts,celery", "-P", "threads",
        "-c", "32", "-n", "artifacts@%h",
    ]  # fmt: skip
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(compose))

    found = list(checks.compose_problems(manifests, root=tmp_path))

    assert len(found) == 1
    assert found[0].startswith("artifacts-worker: chart runs celery -A config worker -Q artifacts ")


def test_an_app_the_dockerfile_does_not_copy_is_reported(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    dockerfile = (ROOT / "Dockerfile").read_text()
    (tmp_path / "Dockerfile").write_text(dockerfile.replace("COPY dashboards ./dashboards\n", ""))

    assert list(checks.dockerfile_problems(root=ROOT)) == []
    assert list(checks.dockerfile_problems(root=tmp_path)) == [
        "Dockerfile: does not COPY dashboards/ (pyproject.toml installs it)"
    ]


def test_migrations_run_as_a_hook_after_the_chart_made_secret(helm):
    docs = documents(
        helm,
        "--set", "secret.existingSecret=",
        "--set-string", "secret.values.SECRET_KEY=k,secret.values.DATABASE_URL=postgres://db/pls",
        "--set-string", "secret.values.REDIS_URL=redis://redis:6379/0",
    )  # fmt: skip
    secret = next(d for d in docs if d["kind"] == "Secret")
    migrate = find(docs, "Job", "migrate")
    hook = migrate["metadata"]["annotations"]
    env_from = migrate["spec"]["template"]["spec"]["containers"][0]["envFrom"]

    assert hook["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == hook["helm.sh/hook"]
    weight = int(secret["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert weight < int(hook["helm.sh/hook-weight"])
    assert env_from == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    # The release's ServiceAccount does not exist yet while the hook runs.
    assert "serviceAccountName" not in migrate["spec"]["template"]["spec"]


def test_without_an_existing_secret_the_secret_values_are_required(helm):
    rendered = render(helm, "--set", "secret.existingSecret=")

    assert rendered.returncode != 0
    assert "secret.values.SECRET_KEY is required" in rendered.stderr


def test_a_misspelt_value_fails_the_render_instead_of_being_ignored(helm):
    rendered = render(helm, "--set", "web.autoscalling.enabled=false")

    assert rendered.returncode != 0
    assert "additional properties 'autoscalling' not allowed" in rendered.stderr
