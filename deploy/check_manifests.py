"""Checks rendered Kubernetes manifests offline; deploy/check runs it on every render.

    python deploy/check_manifests.py RENDERED.yaml [...] --kube-versions 1.27.0,1.37.0

1. Every document against the Kubernetes JSON schema of each version (kubernetes-validate,
   which carries the schemas: no cluster, no network), strictly: an unknown field or an
   unknown kind fails.
2. What a schema cannot see: beat is one pod replaced by Recreate, each autoscaler and
   disruption budget finds its pods, the probes hit /health and /ready, every container asks
   for resources, migrations are a pre-install/pre-upgrade hook, backups land on a volume.
3. The processes match docker-compose.yml's (same commands, same queues and pools), and the
   Dockerfile copies every package pyproject.toml installs.

Prints one line per problem and exits 1 if there is any.
"""

import argparse
import itertools
import re
import shlex
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = "app.kubernetes.io/component"
SCALED = ("web", "worker", "artifacts-worker")
# celery worker options that decide what a worker is, with celery's defaults (concurrency
# is sizing, which values files may change).
WORKER_OPTIONS = {"-Q": "celery", "-P": "prefork", "-n": "celery@%h"}
LONG_OPTIONS = {"--queues": "-Q", "--pool": "-P", "--hostname": "-n"}


def load_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def name_of(doc: dict) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def pod_spec(doc: dict) -> dict:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def pod_labels(doc: dict) -> dict:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return doc["spec"]["template"]["metadata"]["labels"]


def workloads(docs: list[dict]) -> dict[str, dict]:
    """Deployments, Jobs and CronJobs by their component label."""
    return {
        doc["metadata"]["labels"][COMPONENT]: doc
        for doc in docs
        if doc["kind"] in {"Deployment", "Job", "CronJob"}
    }


def schema_problems(docs: list[dict], versions: list[str]) -> Iterator[str]:
    for doc in docs:
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(part) for part in error.path)
                yield f"{name_of(doc)} (Kubernetes {version}): {path}: {error.message}"
            except kubernetes_validate.SchemaNotFoundError:
                yield f"{name_of(doc)}: no Kubernetes {version} schema for this kind"


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


def chart_problems(docs: list[dict]) -> Iterator[str]:
    by_component = workloads(docs)
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    for required in ("web", "worker", "artifacts-worker", "beat", "migrate"):
        if required not in by_component:
            yield f"no workload labelled {COMPONENT}={required}"

    for doc in by_component.values():
        for container in pod_spec(doc)["containers"]:
            requests = container.get("resources", {}).get("requests", {})
            if not {"cpu", "memory"} <= requests.keys():
                yield f"{name_of(doc)}: container {container['name']} requests no cpu/memory"

    beat = by_component.get("beat")
    if beat is not None and (
        beat["spec"].get("replicas"),
        beat["spec"].get("strategy", {}).get("type"),
    ) != (1, "Recreate"):
        yield f"{name_of(beat)}: beat must be replicas 1 with strategy Recreate"

    for doc in docs:
        if doc["kind"] == "HorizontalPodAutoscaler":
            target = deployments.get(doc["spec"]["scaleTargetRef"]["name"])
            if target is None:
                yield f"{name_of(doc)}: scales a Deployment that is not rendered"
            elif target["metadata"]["labels"][COMPONENT] not in SCALED:
                yield f"{name_of(doc)}: scales {name_of(target)}, which must stay as it is"
            elif "replicas" in target["spec"]:
                yield f"{name_of(target)}: sets replicas although an autoscaler owns them"
        if doc["kind"] == "PodDisruptionBudget":
            matched = [
                d for d in deployments.values() if selects(doc["spec"]["selector"], pod_labels(d))
            ]
            if len(matched) != 1:
                yield f"{name_of(doc)}: selects {len(matched)} Deployments' pods, not one"

    web = by_component.get("web")
    if web is not None:
        (container,) = pod_spec(web)["containers"]
        for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
            if container.get(probe, {}).get("httpGet", {}).get("path") != path:
                yield f"{name_of(web)}: {probe} must GET {path}"

    migrate = by_component.get("migrate")
    if migrate is not None:
        hooks = set(migrate["metadata"].get("annotations", {}).get("helm.sh/hook", "").split(","))
        if not {"pre-install", "pre-upgrade"} <= hooks:
            yield f"{name_of(migrate)}: must be a pre-install,pre-upgrade hook"

    backup = by_component.get("backup")
    if backup is not None:
        yield from backup_problems(backup, docs)


def backup_problems(cronjob: dict, docs: list[dict]) -> Iterator[str]:
    spec = pod_spec(cronjob)
    (container,) = spec["containers"]
    if container["command"][-2:] != ["manage.py", "backup"]:
        yield f"{name_of(cronjob)}: must run manage.py backup"
    env = {item["name"]: item.get("value") for item in container.get("env", [])}
    claims = {
        volume["name"]: volume["persistentVolumeClaim"]["claimName"]
        for volume in spec.get("volumes", [])
        if "persistentVolumeClaim" in volume
    }
    mounted = {
        mount["mountPath"]: claims[mount["name"]]
        for mount in container.get("volumeMounts", [])
        if mount["name"] in claims
    }
    if env.get("PLS_BACKUP_DIR") not in mounted:
        yield f"{name_of(cronjob)}: PLS_BACKUP_DIR is not a mounted volume claim"
    rendered_claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    for claim in set(mounted.values()) - rendered_claims:
        print(f"note: {name_of(cronjob)} uses the existing claim {claim}")


def worker_options(command: list[str]) -> dict[str, str | None]:
    options = dict(WORKER_OPTIONS)
    for flag, value in itertools.pairwise(command):
        flag = LONG_OPTIONS.get(flag, flag)
        if flag in options:
            options[flag] = value
    return options


def compose_problems(docs: list[dict], root: Path = ROOT) -> Iterator[str]:
    """The chart runs the processes docker-compose.yml runs, the same way."""
    services = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]
    by_component = workloads(docs)
    for component in ("web", "worker", "artifacts-worker", "beat", "migrate"):
        if component not in by_component or component not in services:
            continue  # a missing workload is reported by chart_problems
        (container,) = pod_spec(by_component[component])["containers"]
        chart, compose = container["command"], services[component]["command"]
        if chart[:4] == compose[:4] == ["celery", "-A", "config", "worker"]:
            if worker_options(chart) != worker_options(compose):
                yield (
                    f"{component}: chart runs {shlex.join(chart)}, compose runs "
                    f"{shlex.join(compose)} (queues, pool or node name differ)"
                )
        elif chart != compose:
            yield f"{component}: chart runs {shlex.join(chart)}, compose runs {shlex.join(compose)}"


def dockerfile_problems(root: Path = ROOT) -> Iterator[str]:
    """The image copies the source of every package pyproject.toml installs."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    packages = {
        pattern.rstrip("*")
        for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = set(re.findall(r"^COPY (\S+) \./", (root / "Dockerfile").read_text(), re.M))
    for package in sorted(packages - copied):
        yield f"Dockerfile: does not COPY {package}/ (pyproject.toml installs it)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rendered", nargs="+", type=Path)
    parser.add_argument("--kube-versions", default=kubernetes_validate.latest_version())
    args = parser.parse_args()
    versions = args.kube_versions.split(",")

    problems = list(dockerfile_problems())
    for path in args.rendered:
        docs = load_documents(path)
        found = [
            *schema_problems(docs, versions),
            *chart_problems(docs),
            *compose_problems(docs),
        ]
        problems += [f"{path.name}: {problem}" for problem in found]
        print(f"{path.name}: {len(docs)} manifests, Kubernetes {', '.join(versions)}", end="")
        print(f": {len(found)} problem(s)" if found else ": valid")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
