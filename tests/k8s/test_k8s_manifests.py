"""Check the rendered Kubernetes manifests: schemas, wiring, gates and security."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

K8S_DIR = Path(__file__).resolve().parents[2] / "k8s"
OVERLAYS = ("web", "headless", "aws")
KUBERNETES_VERSION = "1.32.0"
MASTER = "msgload-master"
WORKER = "msgload-worker"
HEADLESS_OVERLAYS = ("headless", "aws")
GATE_OPTIONS = (
    "--gate-failure-ratio",
    "--gate-publish-p95-ms",
    "--gate-publish-p99-ms",
    "--gate-e2e-p99-ms",
    "--gate-min-messages-per-s",
    "--gate-max-lost",
    "--gate-max-duplicates",
    "--gate-max-drain-s",
)
POD_KINDS = ("Deployment", "Job", "Pod")


def render_kustomization(directory: Path) -> list[dict]:
    """Run `kubectl kustomize` on a directory and return the rendered objects."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed, so the Kustomize overlays cannot render")

    completed = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr

    return [item for item in yaml.safe_load_all(completed.stdout) if item]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    """Rendered objects of every overlay and of the results reader, by name."""
    renders = {
        name: render_kustomization(K8S_DIR / "overlays" / name) for name in OVERLAYS
    }
    renders["results-reader"] = render_kustomization(K8S_DIR / "results-reader")
    return renders


def find_object(objects: list[dict], kind: str, name: str) -> dict:
    matches = [
        item
        for item in objects
        if item["kind"] == kind and item["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def pod_spec(workload: dict) -> dict:
    if workload["kind"] == "Pod":
        return workload["spec"]
    return workload["spec"]["template"]["spec"]


def pod_workloads(objects: list[dict]) -> list[dict]:
    return [item for item in objects if item["kind"] in POD_KINDS]


def parse_args(args: list[str]) -> dict[str, str | bool]:
    """Map each `--option=value` to its value and each bare flag to True."""
    options: dict[str, str | bool] = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        assert name not in options, f"option {name} is given twice"
        options[name] = value if sep else True
    return options


def master_and_worker(objects: list[dict]) -> tuple[dict, dict]:
    kinds = {item["kind"] for item in objects if item["metadata"]["name"] == MASTER}
    kind = "Job" if "Job" in kinds else "Deployment"
    return find_object(objects, kind, MASTER), find_object(objects, kind, WORKER)


def container_args(workload: dict) -> dict[str, str | bool]:
    (container,) = pod_spec(workload)["containers"]
    return parse_args(container["args"])


def service_port(service: dict, name: str) -> dict:
    (port,) = [item for item in service["spec"]["ports"] if item["name"] == name]
    return port


def container_port_number(workload: dict, name: str) -> int:
    (container,) = pod_spec(workload)["containers"]
    (port,) = [item for item in container["ports"] if item["name"] == name]
    return port["containerPort"]


@pytest.mark.parametrize("name", [*OVERLAYS, "results-reader"])
def test_objects_match_kubernetes_schemas(rendered, name):
    problems = []
    for item in rendered[name]:
        kind_name = f"{item['kind']}/{item['metadata']['name']}"
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            problems.append(f"{kind_name} is invalid at {path}: {error.message}")

    assert problems == []


def test_web_overlay_runs_deployments(rendered):
    kinds = {(item["kind"], item["metadata"]["name"]) for item in rendered["web"]}

    assert ("Deployment", MASTER) in kinds
    assert ("Deployment", WORKER) in kinds
    assert ("Service", MASTER) in kinds
    assert ("ServiceAccount", "msgload") in kinds


@pytest.mark.parametrize("name", HEADLESS_OVERLAYS)
def test_headless_overlay_runs_jobs_only(rendered, name):
    kinds = {(item["kind"], item["metadata"]["name"]) for item in rendered[name]}

    assert ("Job", MASTER) in kinds
    assert ("Job", WORKER) in kinds
    assert ("PersistentVolumeClaim", "msgload-results") in kinds
    assert not [kind for kind, _ in kinds if kind == "Deployment"]


@pytest.mark.parametrize("name", OVERLAYS)
def test_workers_address_master_service(rendered, name):
    service = find_object(rendered[name], "Service", MASTER)
    worker_port = service_port(service, "worker")
    master, worker = master_and_worker(rendered[name])
    worker_options = container_args(worker)

    assert worker_options["--worker"] is True
    assert worker_options["--master-host"] == service["metadata"]["name"]
    assert worker_options["--master-port"] == str(worker_port["port"])
    assert ":" not in worker_options["--master-host"]


@pytest.mark.parametrize("name", OVERLAYS)
def test_master_binds_service_target_port(rendered, name):
    service = find_object(rendered[name], "Service", MASTER)
    target_port = service_port(service, "worker")["targetPort"]
    master, _ = master_and_worker(rendered[name])
    master_options = container_args(master)

    assert master_options["--master"] is True
    assert master_options["--master-bind-port"] == str(
        container_port_number(master, target_port)
    )


@pytest.mark.parametrize("name", OVERLAYS)
def test_service_selects_master_pods_only(rendered, name):
    service = find_object(rendered[name], "Service", MASTER)
    selector = service["spec"]["selector"].items()
    master, worker = master_and_worker(rendered[name])
    master_labels = master["spec"]["template"]["metadata"]["labels"].items()
    worker_labels = worker["spec"]["template"]["metadata"]["labels"].items()

    assert selector <= master_labels
    assert not selector <= worker_labels


def test_web_overlay_serves_web_port(rendered):
    service = find_object(rendered["web"], "Service", MASTER)
    master, _ = master_and_worker(rendered["web"])
    web_port = service_port(service, "web")

    assert web_port["port"] == 8089
    assert container_args(master)["--web-port"] == "8089"
    assert "--headless" not in container_args(master)


@pytest.mark.parametrize("name", HEADLESS_OVERLAYS)
def test_headless_service_has_no_web_port(rendered, name):
    service = find_object(rendered[name], "Service", MASTER)

    assert [port["port"] for port in service["spec"]["ports"]] == [5557]


@pytest.mark.parametrize("name", HEADLESS_OVERLAYS)
def test_headless_master_passes_gate_options(rendered, name):
    master, _ = master_and_worker(rendered[name])
    options = container_args(master)

    assert options["--headless"] is True
    for gate in GATE_OPTIONS:
        assert gate in options, f"{gate} is missing from the master Job args"
        assert float(options[gate]) >= 0


@pytest.mark.parametrize("name", HEADLESS_OVERLAYS)
def test_expect_workers_equals_worker_parallelism(rendered, name):
    master, worker = master_and_worker(rendered[name])
    options = container_args(master)
    expected_workers = int(options["--expect-workers"])

    assert expected_workers == worker["spec"]["parallelism"]
    assert expected_workers == worker["spec"]["completions"]
    assert int(options["--expect-workers-max-wait"]) > 0


@pytest.mark.parametrize("name", HEADLESS_OVERLAYS)
def test_headless_jobs_end_without_retries(rendered, name):
    master, worker = master_and_worker(rendered[name])

    assert master["spec"]["backoffLimit"] == 0
    assert worker["spec"]["completionMode"] == "Indexed"
    assert worker["spec"]["backoffLimitPerIndex"] == 0
    for job in (master, worker):
        assert pod_spec(job)["restartPolicy"] == "Never"
        assert job["spec"]["activeDeadlineSeconds"] > 0
        assert job["spec"]["ttlSecondsAfterFinished"] > 0


@pytest.mark.parametrize("name", HEADLESS_OVERLAYS)
def test_headless_results_go_to_claim(rendered, name):
    master, _ = master_and_worker(rendered[name])
    spec = pod_spec(master)
    (container,) = spec["containers"]
    (mount,) = [item for item in container["volumeMounts"] if item["name"] == "results"]
    (volume,) = [item for item in spec["volumes"] if item["name"] == "results"]
    claim = volume["persistentVolumeClaim"]["claimName"]

    assert container_args(master)["--results-dir"] == mount["mountPath"]
    assert find_object(rendered[name], "PersistentVolumeClaim", claim)
    assert mount.get("readOnly", False) is False


@pytest.mark.parametrize("name", OVERLAYS)
def test_master_probes_use_worker_port(rendered, name):
    master, _ = master_and_worker(rendered[name])
    (container,) = pod_spec(master)["containers"]

    for probe in ("readinessProbe", "livenessProbe"):
        port = container[probe]["tcpSocket"]["port"]
        assert container_port_number(master, port) == 5557


@pytest.mark.parametrize("name", OVERLAYS)
def test_network_policy_admits_only_workers(rendered, name):
    policy = find_object(rendered[name], "NetworkPolicy", MASTER)
    master, worker = master_and_worker(rendered[name])
    master_labels = master["spec"]["template"]["metadata"]["labels"].items()
    worker_labels = worker["spec"]["template"]["metadata"]["labels"].items()
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]

    assert policy["spec"]["podSelector"]["matchLabels"].items() <= master_labels
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert source.keys() == {"podSelector"}
    assert source["podSelector"]["matchLabels"].items() <= worker_labels
    assert not source["podSelector"]["matchLabels"].items() <= master_labels
    assert rule["ports"] == [{"protocol": "TCP", "port": 5557}]


@pytest.mark.parametrize("name", OVERLAYS)
def test_network_policy_closes_worker_ingress(rendered, name):
    policy = find_object(rendered[name], "NetworkPolicy", WORKER)

    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert "ingress" not in policy["spec"]


@pytest.mark.parametrize("name", [*OVERLAYS, "results-reader"])
def test_pods_run_restricted(rendered, name):
    for workload in pod_workloads(rendered[name]):
        spec = pod_spec(workload)
        pod_context = spec["securityContext"]

        assert pod_context["runAsNonRoot"] is True
        assert pod_context["runAsUser"] > 0
        assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False


@pytest.mark.parametrize("name", [*OVERLAYS, "results-reader"])
def test_containers_run_restricted(rendered, name):
    for workload in pod_workloads(rendered[name]):
        for container in pod_spec(workload)["containers"]:
            context = container["securityContext"]

            assert context["runAsNonRoot"] is True
            assert context["runAsUser"] > 0
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("name", [*OVERLAYS, "results-reader"])
def test_containers_set_requests_and_limits(rendered, name):
    for workload in pod_workloads(rendered[name]):
        for container in pod_spec(workload)["containers"]:
            resources = container["resources"]

            assert resources["requests"].keys() >= {"cpu", "memory"}
            assert resources["limits"].keys() >= {"cpu", "memory"}


@pytest.mark.parametrize("name", [*OVERLAYS, "results-reader"])
def test_containers_write_tmp_to_empty_dir(rendered, name):
    for workload in pod_workloads(rendered[name]):
        spec = pod_spec(workload)
        empty_dirs = {item["name"] for item in spec["volumes"] if "emptyDir" in item}
        for container in spec["containers"]:
            mounts = {
                item["mountPath"]: item["name"] for item in container["volumeMounts"]
            }

            assert mounts["/tmp"] in empty_dirs


@pytest.mark.parametrize("name", OVERLAYS)
def test_arg_variables_come_from_settings(rendered, name):
    config_maps = {
        item["metadata"]["name"]: item["data"]
        for item in rendered[name]
        if item["kind"] == "ConfigMap"
    }
    for workload in pod_workloads(rendered[name]):
        for container in pod_spec(workload)["containers"]:
            env = {item["name"]: item for item in container["env"]}
            for variable in re.findall(r"\$\((\w+)\)", " ".join(container["args"])):
                reference = env[variable]["valueFrom"]["configMapKeyRef"]
                assert reference["key"] in config_maps[reference["name"]]


def test_container_images_share_one_tag(rendered):
    images = {
        container["image"]
        for objects in rendered.values()
        for workload in pod_workloads(objects)
        for container in pod_spec(workload)["containers"]
    }

    assert len(images) == 1
    assert re.fullmatch(r"msgload:\d+\.\d+\.\d+", images.pop())


def test_aws_overlay_annotates_irsa_role(rendered):
    account = find_object(rendered["aws"], "ServiceAccount", "msgload")
    role_arn = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]

    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+", role_arn)
    for workload in pod_workloads(rendered["aws"]):
        assert pod_spec(workload)["serviceAccountName"] == "msgload"


def test_aws_overlay_passes_target_and_region(rendered):
    config_maps = {
        item["metadata"]["name"]: item["data"]
        for item in rendered["aws"]
        if item["kind"] == "ConfigMap"
    }
    for workload in pod_workloads(rendered["aws"]):
        (container,) = pod_spec(workload)["containers"]
        options = parse_args(container["args"])
        env = {item["name"]: item for item in container["env"]}
        reference = env["AWS_REGION"]["valueFrom"]["configMapKeyRef"]

        assert options["--target"] == "aws"
        assert options["--region"] == "$(AWS_REGION)"
        assert config_maps[reference["name"]]["AWS_REGION"] == "us-east-1"


@pytest.mark.parametrize("name", OVERLAYS)
def test_rendered_output_has_no_static_keys(rendered, name):
    text = repr(rendered[name])

    assert "AWS_ACCESS_KEY_ID" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
    assert "AWS_SESSION_TOKEN" not in text
    assert not re.search(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b", text)


def test_custom_locustfile_component_mounts_configmap(tmp_path):
    (tmp_path / "locustfile.py").write_text("from locust import User\n")
    overlay = os.path.relpath(K8S_DIR / "overlays" / "headless", tmp_path)
    component = os.path.relpath(K8S_DIR / "components" / "custom-locustfile", tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"resources: [{overlay}]\n"
        f"components: [{component}]\n"
        "configMapGenerator:\n"
        "  - name: msgload-custom-locustfile\n"
        "    files: [locustfile.py]\n"
    )

    objects = render_kustomization(tmp_path)
    config_maps = {
        item["metadata"]["name"]: item["data"]
        for item in objects
        if item["kind"] == "ConfigMap"
    }
    for workload in pod_workloads(objects):
        spec = pod_spec(workload)
        (volume,) = [item for item in spec["volumes"] if "configMap" in item]
        (container,) = spec["containers"]
        mounts = {item["name"]: item["mountPath"] for item in container["volumeMounts"]}
        reference = container["env"][0]["valueFrom"]["configMapKeyRef"]

        assert "locustfile.py" in config_maps[volume["configMap"]["name"]]
        assert mounts[volume["name"]] == "/app/custom"
        assert config_maps[reference["name"]]["MSGLOAD_LOCUSTFILE"] == (
            "/app/custom/locustfile.py"
        )
