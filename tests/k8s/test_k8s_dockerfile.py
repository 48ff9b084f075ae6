"""Check k8s/Dockerfile: pinned base image, non-root user, read-only-root settings."""

import re
from pathlib import Path

import dockerfile
import yaml

K8S_DIR = Path(__file__).resolve().parents[2] / "k8s"
FULL_VERSION_TAG = re.compile(r"[\w./-]+:\d+\.\d+\.\d+-[\w.-]+(@sha256:[0-9a-f]{64})?")


def instructions(name: str) -> list[tuple[str, ...]]:
    """Return the values of every instruction `name` in k8s/Dockerfile."""
    commands = dockerfile.parse_file(str(K8S_DIR / "Dockerfile"))
    return [command.value for command in commands if command.cmd == name]


def image_environment() -> dict[str, str]:
    environment = {}
    for values in instructions("ENV"):
        environment.update(zip(values[::2], values[1::2], strict=True))
    return environment


def test_base_image_pins_full_version():
    (base_image,) = instructions("FROM")

    assert FULL_VERSION_TAG.fullmatch(base_image[0]), base_image[0]
    assert base_image[0].startswith("python:3.11.")


def test_image_user_is_non_root():
    user = instructions("USER")[-1][0]
    uid, _, gid = user.partition(":")

    assert uid.isdigit(), f"USER {user} is not numeric, so runAsNonRoot cannot check it"
    assert int(uid) != 0
    assert gid != "0"


def test_image_user_matches_pod_user():
    uid = int(instructions("USER")[-1][0].partition(":")[0])
    manifests = [
        K8S_DIR / "base" / "master-deployment.yaml",
        K8S_DIR / "base" / "worker-deployment.yaml",
        K8S_DIR / "overlays" / "headless" / "master-job.yaml",
        K8S_DIR / "overlays" / "headless" / "worker-job.yaml",
        K8S_DIR / "results-reader" / "pod.yaml",
    ]
    for manifest in manifests:
        workload = yaml.safe_load(manifest.read_text())
        spec = workload["spec"].get("template", {}).get("spec", workload["spec"])

        assert spec["securityContext"]["runAsUser"] == uid, manifest.name


def test_image_writes_only_under_tmp():
    environment = image_environment()

    assert environment["PYTHONDONTWRITEBYTECODE"] == "1"
    assert environment["HOME"] == "/tmp"
    assert environment["MPLCONFIGDIR"].startswith("/tmp/")


def test_image_holds_no_aws_keys():
    names = set(image_environment())
    names.update(value[0].partition("=")[0] for value in instructions("ARG"))

    assert "AWS_ACCESS_KEY_ID" not in names
    assert "AWS_SECRET_ACCESS_KEY" not in names
    assert "AWS_SESSION_TOKEN" not in names


def test_image_runs_locust():
    (entrypoint,) = instructions("ENTRYPOINT")

    assert entrypoint == ("locust",)
