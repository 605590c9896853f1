"""infra/: every manifest parses and carries what it needs; the image installs what pyproject.toml lists.

No docker, no Kubernetes, no network: YAML is read with safe_load_all, the Dockerfile as text, and the
Ray cluster launcher file is validated against the JSON schema that ships with Ray.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.conftest import REPO

INFRA = REPO / "infra"
KUBERAY = INFRA / "kuberay"
COMPOSE = INFRA / "compose" / "docker-compose.yaml"
DOCKERFILE = INFRA / "docker" / "Dockerfile"
LAUNCHER = INFRA / "cluster" / "ray-cluster.yaml"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

# The variables every Ray pod gets from the storage Secret.
SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_TRACKING_URI", "MLFLOW_S3_ENDPOINT_URL")
COMPOSE_SERVICES = ("minio", "postgres", "create-bucket", "mlflow", "ray-head")
# Where the image keeps the repository's configs/ (WORKDIR of infra/docker/Dockerfile).
IMAGE_CONFIGS = "/opt/ganforge/configs/"
PLACEHOLDER = re.compile(r"^(|REPLACE_[A-Z0-9_]+|change-me[a-z0-9-]*)$")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY", re.I)


def schema_fields(section: str) -> set[str]:
    """Field names of a config section, read from platform/config/schema.py without importing it
    (importing ganforge.platform.config loads the modality registry, hence torch: seconds)."""
    tree = ast.parse((REPO / "platform" / "config" / "schema.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == section)
    return {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}


SECTIONS = {"gan": "GanConfig", "train": "TrainConfig", "tracking": "TrackingConfig"}


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def kuberay_docs(kind: str) -> list[dict[str, Any]]:
    return [doc for path in sorted(KUBERAY.glob("*.yaml")) for doc in load_all(path) if doc["kind"] == kind]


def secrets() -> dict[str, dict[str, str]]:
    return {doc["metadata"]["name"]: doc["stringData"] for doc in kuberay_docs("Secret")}


def containers(group: dict[str, Any]) -> list[dict[str, Any]]:
    return group["template"]["spec"]["containers"]


def env_by_name(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


# --- every YAML file ----------------------------------------------------------------------------


def infra_yaml_files() -> list[Path]:
    return sorted(p for p in INFRA.rglob("*") if p.suffix in {".yaml", ".yml"})


def test_infra_has_the_expected_files() -> None:
    names = {str(p.relative_to(INFRA)) for p in infra_yaml_files()}
    assert {
        "compose/docker-compose.yaml",
        "cluster/ray-cluster.yaml",
        "kuberay/raycluster.yaml",
        "kuberay/rayjob.yaml",
        "kuberay/secrets.example.yaml",
    } <= names
    assert DOCKERFILE.is_file() and (INFRA / "docker" / "Dockerfile.dockerignore").is_file()


@pytest.mark.parametrize("path", infra_yaml_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_yaml_parses(path: Path) -> None:
    docs = load_all(path)
    assert docs, f"{path} holds no document"
    assert all(isinstance(doc, dict) for doc in docs)


# --- KubeRay --------------------------------------------------------------------------------------


def test_kuberay_kinds_and_api_versions() -> None:
    expected = {"RayCluster": "ray.io/v1", "RayJob": "ray.io/v1", "Secret": "v1", "ConfigMap": "v1"}
    for path in KUBERAY.glob("*.yaml"):
        for doc in load_all(path):
            assert doc["kind"] in expected, f"{path.name}: unexpected kind {doc['kind']}"
            assert doc["apiVersion"] == expected[doc["kind"]], f"{path.name}: {doc['kind']}"
            assert doc["metadata"]["name"]
    assert kuberay_docs("RayCluster") and len(kuberay_docs("RayJob")) >= 1


def check_cluster_spec(spec: dict[str, Any], where: str) -> None:
    """Head group + a CPU and a GPU worker group, each with resources, the image and the secret env."""
    assert spec["rayVersion"].startswith("2.60"), where
    head = spec["headGroupSpec"]
    assert isinstance(head["rayStartParams"], dict), where
    assert head["rayStartParams"].get("dashboard-host") == "0.0.0.0", where
    ports = {p["containerPort"] for p in containers(head)[0]["ports"]}
    assert {6379, 8265, 10001} <= ports, where
    groups = {group["groupName"]: group for group in spec["workerGroupSpecs"]}
    assert {"cpu", "gpu"} <= set(groups), where
    for name, group in groups.items():
        assert isinstance(group["rayStartParams"], dict), f"{where}: {name}"
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], f"{where}: {name}"
    for group in [head, *groups.values()]:
        for container in containers(group):
            assert "/ganforge:" in container["image"], where
            resources = container["resources"]
            for side in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[side]), f"{where}: {container['name']} {side}"
            check_secret_env(container, f"{where}: {container['name']}")
    gpu = containers(groups["gpu"])[0]
    assert int(gpu["resources"]["limits"]["nvidia.com/gpu"]) >= 1, where
    assert gpu["image"].endswith("-cuda"), where
    cpu = containers(groups["cpu"])[0]
    assert "nvidia.com/gpu" not in cpu["resources"]["limits"], where


def check_secret_env(container: dict[str, Any], where: str) -> None:
    env = env_by_name(container)
    known = secrets()
    for name in SECRET_ENV:
        assert name in env, f"{where}: {name} missing"
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["key"] in known[ref["name"]], f"{where}: {name} -> {ref}"
    if env.get("RAY_AUTH_MODE", {}).get("value") == "token":
        ref = env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert ref["key"] in known[ref["name"]], where


def test_raycluster_has_head_cpu_and_gpu_groups_wired_to_secrets() -> None:
    for cluster in kuberay_docs("RayCluster"):
        check_cluster_spec(cluster["spec"], f"RayCluster {cluster['metadata']['name']}")


def entrypoint_config(entrypoint: str, configmaps: dict[str, str]) -> dict[str, Any]:
    """The job config file a `ganforge train|sweep PATH ...` entrypoint names, read from where it lives."""
    from ganforge.pipelines.cli.main import cli  # light: commands import their pipelines lazily

    words = shlex.split(entrypoint)
    assert words[0] == "ganforge" and words[1] in {"train", "sweep"}, entrypoint
    known = {opt for param in cli.commands[words[1]].params for opt in param.opts}
    for word in words[3:]:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"unknown option {word} in {entrypoint!r}"
    for flag, value in zip(words, words[1:], strict=False):
        if flag == "--set":  # only train.* and tracking.* are overridden on a cluster
            section, field = value.split("=", 1)[0].split(".")
            assert section in {"train", "tracking"} and field in schema_fields(SECTIONS[section]), value
    path = words[2]
    if path.startswith(IMAGE_CONFIGS):
        return yaml.safe_load((REPO / "configs" / path.removeprefix(IMAGE_CONFIGS)).read_text())
    mount, _, name = path.rpartition("/")
    assert mount == "/etc/ganforge/jobs" and name in configmaps, path
    return yaml.safe_load(configmaps[name])


def test_rayjobs_run_a_ganforge_command_on_a_full_or_selected_cluster() -> None:
    configmaps = {k: v for doc in kuberay_docs("ConfigMap") for k, v in doc["data"].items()}
    cluster_names = {doc["metadata"]["name"] for doc in kuberay_docs("RayCluster")}
    for job in kuberay_docs("RayJob"):
        spec, where = job["spec"], f"RayJob {job['metadata']['name']}"
        config = entrypoint_config(spec["entrypoint"], configmaps)
        assert config["modality"] and config["name"], where
        if "rayClusterSpec" in spec:
            check_cluster_spec(spec["rayClusterSpec"], where)
            assert spec["shutdownAfterJobFinishes"] is True, where
        else:
            assert spec["clusterSelector"]["ray.io/cluster"] in cluster_names, where
            # The selected cluster has token auth on: the submitter needs the token too.
            submitter = spec["submitterPodTemplate"]["spec"]["containers"][0]
            env = env_by_name(submitter)
            assert env["RAY_AUTH_MODE"]["value"] == "token", where
            ref = env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]
            assert ref["key"] in secrets()[ref["name"]], where


def test_configmap_job_is_the_shipped_config_with_s3_storage() -> None:
    shipped = yaml.safe_load((REPO / "configs" / "toy" / "grid25.yaml").read_text())
    for doc in kuberay_docs("ConfigMap"):
        for name, text in doc["data"].items():
            job = yaml.safe_load(text)
            assert job["train"]["storage_path"].startswith("s3://"), name
            # Every key of the shared sections is a schema field (data/model are the modality's).
            for section, cls in SECTIONS.items():
                assert set(job[section]) <= schema_fields(cls), f"{name}: {section}"
            if name == "grid25.yaml":  # no drift from configs/toy/grid25.yaml beyond train settings
                strip = {k: v for k, v in job.items() if k != "train"}
                assert strip == {k: v for k, v in shipped.items() if k != "train"}
                assert {k: v for k, v in job["train"].items() if k in shipped["train"]} == shipped["train"]


# --- docker-compose -------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_has_the_five_services_with_healthchecks() -> None:
    services = compose()["services"]
    assert set(COMPOSE_SERVICES) <= set(services)
    for name in COMPOSE_SERVICES:
        if name == "create-bucket":  # one-shot: the others wait for its exit code
            continue
        assert services[name]["healthcheck"]["test"], name
    for name, service in services.items():
        for dep, condition in service.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            expected = "service_completed_successfully" if dep == "create-bucket" else "service_healthy"
            assert condition == {"condition": expected}, f"{name} -> {dep}"
    assert "create-bucket" in services["mlflow"]["depends_on"]
    assert "postgres" in services["mlflow"]["depends_on"]
    assert "mlflow" in services["ray-head"]["depends_on"]


def test_compose_creates_the_bucket_mlflow_uses() -> None:
    services = compose()["services"]
    script = " ".join(services["create-bucket"]["command"])
    assert services["create-bucket"]["image"].startswith("minio/mc")
    assert "mc mb --ignore-existing local/ganforge" in script
    mlflow = " ".join(services["mlflow"]["command"])
    assert re.search(r"--backend-store-uri \S*postgresql://\S+@postgres:5432/", mlflow)
    assert "--artifacts-destination s3://ganforge/mlflow" in mlflow
    assert "--serve-artifacts" in mlflow
    assert services["mlflow"]["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"


def test_compose_ray_head_runs_the_ganforge_image() -> None:
    head = compose()["services"]["ray-head"]
    assert head["build"]["dockerfile"] == "infra/docker/Dockerfile"
    assert (COMPOSE.parent / head["build"]["context"]).resolve() == REPO
    command = " ".join(head["command"])
    assert command.startswith("ray start --head") and "--block" in command
    assert "--dashboard-host=0.0.0.0" in command
    assert {"8265:8265", "10001:10001", "6379:6379"} <= set(head["ports"])
    env = head["environment"]
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"


def test_compose_credentials_come_from_the_env_file() -> None:
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{(\w+)(?::\?[^}]*)?\}", text))
    example = dict(
        line.split("=", 1)
        for line in (COMPOSE.parent / ".env.example").read_text().splitlines()
        if "=" in line
    )
    assert required <= set(example), f"not in .env.example: {required - set(example)}"
    for service in compose()["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert str(value).startswith("${"), f"{key} is a literal in the compose file"
    assert ".env" in (COMPOSE.parent / ".gitignore").read_text().split()


def test_mlflow_image_matches_pyproject() -> None:
    text = (INFRA / "docker" / "mlflow.Dockerfile").read_text()
    mlflow = next(Requirement(r) for r in PYPROJECT["project"]["dependencies"] if r.startswith("mlflow"))
    assert f'"mlflow{mlflow.specifier}"' in text
    assert "psycopg2" in text and "boto3" in text


# --- Dockerfile -----------------------------------------------------------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, pending = [], ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    return [(word.upper(), rest) for word, _, rest in (item.partition(" ") for item in logical)]


def test_dockerfile_installs_the_project_from_pyproject() -> None:
    steps = instructions(DOCKERFILE)
    copied = {src for op, args in steps if op == "COPY" for src in args.split()[:-1]}
    package_dirs = set(PYPROJECT["tool"]["setuptools"]["package-dir"].values())
    assert {"pyproject.toml", "setup.py", PYPROJECT["project"]["readme"]} <= copied
    assert package_dirs | {"configs"} <= copied
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert re.search(r"pip install \.(\s|$)", runs)
    # The optional CPU-wheel pre-install pins exactly what pyproject.toml pins.
    pins = {Requirement(r).name: str(Requirement(r).specifier) for r in PYPROJECT["project"]["dependencies"]}
    for name, spec in re.findall(r"\b(torch|torchaudio)(==[\d.]+)", runs):
        assert pins[name] == spec, name
    assert ("WORKDIR", IMAGE_CONFIGS.removesuffix("configs/").rstrip("/")) in steps


def apt_packages(script: str) -> set[str]:
    """Package names given to `apt-get install` in a shell script (options and redirections left out)."""
    words = (w for m in re.findall(r"apt-get install ([^&;|\n]+)", script) for w in m.split())
    return {w for w in words if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", w)}


def test_dockerfile_installs_every_system_package_ci_installs() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    runs = " ".join(args for op, args in instructions(DOCKERFILE) if op == "RUN")
    wanted, installed = apt_packages(ci), apt_packages(runs)
    assert "espeak-ng" in wanted
    assert wanted <= installed, f"not installed in the image: {wanted - installed}"


def test_dockerfile_python_matches_requires_python() -> None:
    steps = instructions(DOCKERFILE)
    requires = SpecifierSet(PYPROJECT["project"]["requires-python"])
    stages = {args.split()[-1]: args.split()[0] for op, args in steps if op == "FROM" and " AS " in args}
    assert {"base-cpu", "base-cuda"} <= set(stages)
    cpu_python = re.match(r"python:(\d+\.\d+)", stages["base-cpu"]).group(1)
    cuda_runs = " ".join(args for op, args in steps if op == "RUN" and "python3." in args)
    cuda_python = re.search(r"python(3\.\d+) -m venv", cuda_runs).group(1)
    for version in (cpu_python, cuda_python):
        assert requires.contains(f"{version}.0"), version
    finals = [args for op, args in steps if op == "FROM" and " AS " not in args]
    assert finals == ["base-${FLAVOR}"]
    args = {a.split("=")[0] for op, a in steps if op == "ARG"}
    assert "FLAVOR" in args


def test_dockerfile_runs_as_non_root_with_ganforge_env() -> None:
    steps = instructions(DOCKERFILE)
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in {"root", "0"}
    last_user = max(i for i, (op, _) in enumerate(steps) if op == "USER")
    assert all(op != "RUN" for op, _ in steps[last_user:]), "RUN after USER would need root"
    env = " ".join(args for op, args in steps if op == "ENV")
    assert "GANFORGE_HOME=" in env and "PYTHONUNBUFFERED=1" in env
    readme = (INFRA / "README.md").read_text()
    assert "--build-arg FLAVOR=cpu" in readme and "--build-arg FLAVOR=cuda" in readme


def test_dockerignore_keeps_what_the_dockerfile_copies() -> None:
    lines = (INFRA / "docker" / "Dockerfile.dockerignore").read_text().split()
    assert lines[lines.index("*")] == "*", "exclude everything by default (.venv, runs, caches)"
    kept = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {src for op, args in instructions(DOCKERFILE) if op == "COPY" for src in args.split()[:-1]}
    assert copied <= kept


def test_image_serves_the_ray_jobs_api() -> None:
    # `ray start --head` serves the dashboard and the Jobs API only with ray[default].
    ray = next(Requirement(r) for r in PYPROJECT["project"]["dependencies"] if r.startswith("ray"))
    assert "default" in ray.extras


# --- Ray cluster launcher -------------------------------------------------------------------------


def test_cluster_launcher_config_matches_rays_schema() -> None:
    spec = importlib.util.find_spec("ray")  # the schema file only; importing Ray takes seconds
    schema_path = Path(spec.submodule_search_locations[0]) / "autoscaler" / "ray-schema.json"
    config = yaml.safe_load(LAUNCHER.read_text())
    jsonschema.validate(config, json.loads(schema_path.read_text()))
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    assert sum(t.get("max_workers", 0) for t in types.values()) <= config["max_workers"]
    assert any(t.get("docker", {}).get("worker_image", "").endswith("-cuda") for t in types.values())
    assert config["docker"]["image"].endswith("-cpu")
    assert any("pip install" in c and "ganforge" in c for c in config["setup_commands"])
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        assert any("ganforge.env" in c and "ray start" in c for c in config[key]), key


# --- no secrets -----------------------------------------------------------------------------------


def test_secrets_are_placeholders_only() -> None:
    for name, data in secrets().items():
        for key, value in data.items():
            if SECRET_NAME.search(key):
                assert PLACEHOLDER.match(value), f"Secret {name}: {key} is not a placeholder"
    for path in INFRA.rglob("*.example"):
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.startswith("#") and SECRET_NAME.search(key):
                assert PLACEHOLDER.match(value.strip()), f"{path.name}: {key} is not a placeholder"


def test_no_real_looking_credentials_anywhere_in_infra() -> None:
    patterns = {
        "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
        "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
        "long random string": re.compile(
            r"(?<![\w/.-])(?=[\w+/]*\d)(?=[\w+/]*[a-z])(?=[\w+/]*[A-Z])[\w+/]{32,}={0,2}"
        ),
    }
    for path in INFRA.rglob("*"):
        if path.is_file():
            text = path.read_text()
            for what, pattern in patterns.items():
                assert not pattern.search(text), f"{path.relative_to(REPO)}: {what}"
