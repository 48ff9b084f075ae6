"""Connection security for Apache Kafka and Amazon MSK: TLS, SASL/SCRAM and IAM.

KafkaSecurity turns the --kafka-security options into the keyword arguments that
every kafka-python client of a run takes (producer, consumer, admin client and the
consumer-lag probe). IAM authentication uses SASL OAUTHBEARER with a token that
AWS's aws-msk-iam-sasl-signer-python package signs locally from the boto3
credential chain. SCRAM and IAM always run over TLS, as MSK requires.

The SCRAM password is a secret. It comes from --kafka-sasl-password or, to keep it
out of the command line, from the environment variable MSGLOAD_KAFKA_SASL_PASSWORD.
"""

import importlib.util
import logging
import os
import time
from dataclasses import dataclass, field

from kafka.net.sasl.oauth import AbstractTokenProvider

from users.errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_KAFKA_SECURITY",
    "PASSWORD_ENVIRONMENT_VARIABLE",
    "SECRET_OPTIONS",
    "SECURITY_MODES",
    "KafkaSecurity",
    "MskIamTokenProvider",
    "add_security_arguments",
]

SECURITY_MODES = (
    "plaintext",
    "tls",
    "sasl-scram-sha-512",
    "sasl-scram-sha-256",
    "iam",
)
DEFAULT_KAFKA_SECURITY = "plaintext"
PASSWORD_ENVIRONMENT_VARIABLE = "MSGLOAD_KAFKA_SASL_PASSWORD"
SECRET_OPTIONS = ("kafka_sasl_password",)
"""Attribute names in Locust's parsed options whose values must never be shown."""

SCRAM_MECHANISMS = {
    "sasl-scram-sha-512": "SCRAM-SHA-512",
    "sasl-scram-sha-256": "SCRAM-SHA-256",
}
SIGNER_MODULE = "aws_msk_iam_sasl_signer"
SIGNER_PACKAGE = "aws-msk-iam-sasl-signer-python==1.0.2"
# A new token is signed this long before the old one expires, so a connection
# opened just before expiry still authenticates.
TOKEN_REFRESH_MARGIN_S = 60.0


def add_security_arguments(parser) -> None:
    """Register the --kafka-security options on Locust's argument parser."""
    option = parser.add_argument
    option(
        "--kafka-security",
        choices=SECURITY_MODES,
        default=DEFAULT_KAFKA_SECURITY,
        help="how Kafka clients connect: plaintext; tls; SASL/SCRAM over TLS "
        "(MSK port 9096); iam, SASL OAUTHBEARER over TLS signed with AWS "
        "credentials (MSK port 9098)",
    )
    option(
        "--kafka-sasl-username",
        default="",
        help="SASL/SCRAM user name (with --kafka-security sasl-scram-*)",
    )
    option(
        "--kafka-sasl-password",
        default="",
        # Locust's web page carries every option's value in clear, masked only in
        # the input box, so a secret stays on the command line.
        include_in_web_ui=False,
        help="SASL/SCRAM password; prefer the environment variable "
        f"{PASSWORD_ENVIRONMENT_VARIABLE}, which keeps it off the command line",
    )
    option(
        "--kafka-ca-file",
        default="",
        help="PEM file of the certificate authorities that signed the brokers' "
        "TLS certificates (default: the system's trusted authorities)",
    )


@dataclass(frozen=True)
class KafkaSecurity:
    """The checked security options of a run's Kafka clients."""

    mode: str = DEFAULT_KAFKA_SECURITY
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    region: str = ""

    @classmethod
    def from_settings(cls, settings) -> "KafkaSecurity":
        options = settings.options
        password = getattr(options, "kafka_sasl_password", "") or os.environ.get(
            PASSWORD_ENVIRONMENT_VARIABLE, ""
        )
        return cls(
            mode=getattr(options, "kafka_security", DEFAULT_KAFKA_SECURITY),
            username=getattr(options, "kafka_sasl_username", ""),
            password=password,
            ca_file=getattr(options, "kafka_ca_file", ""),
            region=settings.region,
        )

    @property
    def uses_tls(self) -> bool:
        return self.mode != "plaintext"

    def check(self, target: str) -> None:
        """Raise ConfigError with one sentence naming the wrong option and the fix."""
        if self.mode == "iam" and target == "local":
            raise ConfigError(
                "--kafka-security iam needs Amazon MSK, and the local Kafka broker "
                "has no IAM; use --target aws with the cluster's IAM bootstrap "
                "brokers, or --kafka-security plaintext for the local broker."
            )
        if self.mode == "iam" and importlib.util.find_spec(SIGNER_MODULE) is None:
            raise ConfigError(
                "--kafka-security iam needs AWS's token signer; install it with "
                f"pip install {SIGNER_PACKAGE}."
            )
        if self.mode in SCRAM_MECHANISMS and not (self.username and self.password):
            raise ConfigError(
                f"--kafka-security {self.mode} needs a user name and a password; "
                "pass --kafka-sasl-username and set the environment variable "
                f"{PASSWORD_ENVIRONMENT_VARIABLE} (or pass --kafka-sasl-password)."
            )
        if self.ca_file and not self.uses_tls:
            raise ConfigError(
                "--kafka-ca-file is used only over TLS; add --kafka-security tls, "
                "sasl-scram-sha-512, sasl-scram-sha-256 or iam, or drop the file."
            )
        if self.ca_file and not os.path.isfile(self.ca_file):
            raise ConfigError(
                f"--kafka-ca-file {self.ca_file!r} is not a file; pass the path of "
                "the PEM file of your brokers' certificate authorities."
            )

    def client_options(self) -> dict:
        """Return the kafka-python keyword arguments for this security mode.

        The dictionary contains the SCRAM password in SCRAM mode, so it must not be
        logged or written anywhere.
        """
        if self.mode == "plaintext":
            return {"security_protocol": "PLAINTEXT"}
        tls = {"ssl_check_hostname": True, "ssl_cafile": self.ca_file or None}
        if self.mode == "tls":
            return {"security_protocol": "SSL", **tls}
        if self.mode == "iam":
            return {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "OAUTHBEARER",
                "sasl_oauth_token_provider": MskIamTokenProvider(self.region),
                **tls,
            }
        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": SCRAM_MECHANISMS[self.mode],
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
            **tls,
        }


class MskIamTokenProvider(AbstractTokenProvider):
    """Signs Amazon MSK IAM tokens for kafka-python's SASL OAUTHBEARER.

    The token is a presigned URL for the action kafka-cluster:Connect in region,
    signed locally with the boto3 credential chain; signing sends no request. One
    token is reused by every connection until shortly before it expires.
    """

    def __init__(self, region: str) -> None:
        super().__init__()
        self.region = region
        self._token = ""
        self._expires_at_s = 0.0

    def token(self) -> str:
        if time.time() < self._expires_at_s - TOKEN_REFRESH_MARGIN_S:
            return self._token
        # Imported here so that runs without IAM do not need the package.
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(self.region)
        self._token = token
        self._expires_at_s = expiry_ms / 1000.0
        logger.info("Signed an MSK IAM token for region %s", self.region)
        return token
