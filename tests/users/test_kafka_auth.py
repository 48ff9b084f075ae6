"""Tests for Kafka connection security: client options per mode and MSK IAM tokens.

No test here opens a connection: IAM tokens are signed locally from fake
credentials, and a guard makes any socket connection fail the test.
"""

import base64
import socket
from urllib.parse import parse_qs, urlparse

import locust.argument_parser
import pytest
from kafka.net.sasl.oauth import SaslMechanismOAuth

import users.kafka  # noqa: F401 - registers the Kafka options
from users.errors import ConfigError
from users.kafka_auth import (
    PASSWORD_ENVIRONMENT_VARIABLE,
    KafkaSecurity,
    MskIamTokenProvider,
)
from users.run import public_options
from users.settings import Settings


@pytest.fixture
def offline_aws(monkeypatch, tmp_path):
    """Fake static AWS credentials, no profile files, and no network at all."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))

    def refuse(*_args, **_kwargs):
        raise AssertionError("the test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def parse_options(*args: str):
    return locust.argument_parser.parse_options(args=["-f", "x.py", *args])


def security_of(*args: str) -> KafkaSecurity:
    return KafkaSecurity.from_settings(Settings.from_options(parse_options(*args)))


def decoded_url(token: str):
    padded = token + "=" * (-len(token) % 4)
    return urlparse(base64.urlsafe_b64decode(padded).decode())


def test_plaintext_client_options():
    options = security_of().client_options()

    assert options == {"security_protocol": "PLAINTEXT"}


def test_tls_client_options_use_ca_file(tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not read by this test\n")

    options = security_of(
        "--kafka-security", "tls", "--kafka-ca-file", str(ca_file)
    ).client_options()

    assert options == {
        "security_protocol": "SSL",
        "ssl_check_hostname": True,
        "ssl_cafile": str(ca_file),
    }


def test_tls_without_ca_file_uses_system_authorities():
    options = security_of("--kafka-security", "tls").client_options()

    assert options["ssl_cafile"] is None


@pytest.mark.parametrize(
    ("mode", "mechanism"),
    [("sasl-scram-sha-512", "SCRAM-SHA-512"), ("sasl-scram-sha-256", "SCRAM-SHA-256")],
)
def test_scram_client_options_over_tls(mode, mechanism):
    security = security_of(
        "--kafka-security", mode,
        "--kafka-sasl-username", "loadtest", "--kafka-sasl-password", "s3cret",
    )  # fmt: skip

    options = security.client_options()

    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "loadtest",
        "sasl_plain_password": "s3cret",
        "ssl_check_hostname": True,
        "ssl_cafile": None,
    }


def test_scram_password_read_from_environment(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENVIRONMENT_VARIABLE, "from-env")
    security = security_of(
        "--kafka-security", "sasl-scram-sha-512", "--kafka-sasl-username", "loadtest"
    )

    security.check("aws")

    assert security.client_options()["sasl_plain_password"] == "from-env"


def test_password_absent_from_repr_and_run_json():
    args = (
        "--kafka-security", "sasl-scram-sha-512",
        "--kafka-sasl-username", "loadtest", "--kafka-sasl-password", "s3cret",
    )  # fmt: skip

    shown = public_options(vars(parse_options(*args)))

    assert "s3cret" not in repr(security_of(*args))
    assert "s3cret" not in str(shown)
    assert shown["kafka_sasl_username"] == "loadtest"


def test_iam_client_options_use_oauthbearer():
    options = security_of("--kafka-security", "iam", "--region", "eu-west-1")
    options = options.client_options()
    provider = options.pop("sasl_oauth_token_provider")

    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "OAUTHBEARER",
        "ssl_check_hostname": True,
        "ssl_cafile": None,
    }
    assert isinstance(provider, MskIamTokenProvider)
    assert provider.region == "eu-west-1"


def test_iam_token_signed_offline(offline_aws):
    token = MskIamTokenProvider("eu-west-1").token()
    url = decoded_url(token)
    query = parse_qs(url.query)

    assert token
    assert url.netloc == "kafka.eu-west-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert "/eu-west-1/kafka-cluster/" in query["X-Amz-Credential"][0]


def test_iam_token_reused_until_expiry(offline_aws):
    provider = MskIamTokenProvider("us-east-1")

    first = provider.token()

    assert provider.token() == first


def test_iam_token_sent_by_kafka_python(offline_aws):
    provider = MskIamTokenProvider("us-east-1")
    mechanism = SaslMechanismOAuth(sasl_oauth_token_provider=provider)

    message = mechanism.auth_bytes().decode()

    assert message.startswith("n,,\x01auth=Bearer ")
    assert provider.token() in message


def test_iam_with_local_target_rejected():
    security = security_of("--kafka-security", "iam")

    with pytest.raises(ConfigError) as raised:
        security.check("local")

    assert "--target aws" in str(raised.value)


def test_iam_with_aws_target_accepted(offline_aws):
    security = security_of(
        "--kafka-security", "iam", "--target", "aws", "--region", "ap-south-1"
    )

    security.check("aws")

    assert security.region == "ap-south-1"


@pytest.mark.parametrize(
    "args",
    [
        ["--kafka-security", "sasl-scram-sha-512"],
        ["--kafka-security", "sasl-scram-sha-256", "--kafka-sasl-username", "u"],
        ["--kafka-security", "sasl-scram-sha-256", "--kafka-sasl-password", "p"],
    ],
)
def test_scram_without_credentials_rejected(monkeypatch, args):
    monkeypatch.delenv(PASSWORD_ENVIRONMENT_VARIABLE, raising=False)
    security = security_of(*args)

    with pytest.raises(ConfigError) as raised:
        security.check("aws")

    assert "--kafka-sasl-username" in str(raised.value)


def test_ca_file_without_tls_rejected(tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("x\n")
    security = security_of("--kafka-ca-file", str(ca_file))

    with pytest.raises(ConfigError) as raised:
        security.check("local")

    assert "--kafka-security tls" in str(raised.value)


def test_missing_ca_file_rejected(tmp_path):
    missing = tmp_path / "missing.pem"
    security = security_of("--kafka-security", "tls", "--kafka-ca-file", str(missing))

    with pytest.raises(ConfigError) as raised:
        security.check("local")

    assert "is not a file" in str(raised.value)
