"""A real S3-compatible server on loopback for the object-store tests (moto in server mode).

SeaweedFS is not in this machine's Debian release, so moto's server is the
one started here: in its own process, bound to 127.0.0.1 on a port the
kernel picks, with moto's IAM checks on (``INITIAL_NO_AUTH_ACTION_COUNT``):
a user whose policy allows S3 but denies GetObject under ``denied/``, and
whose generated key is the only credential the scans get. Every test sets
``AWS_ENDPOINT_URL`` and these credentials explicitly (and turns off the
instance-metadata lookup and profile files), so nothing can reach a real cloud.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")

BUCKET = "provenance-test"
HERE = Path(__file__).resolve().parent

# The GCS and Azure emulators' fixtures (test_gcs_azure.py).
from tests.store.emulators import azure_emulator, emulated, emulated_here, gcs_emulator  # noqa: E402,F401


@dataclass
class Store:
    endpoint: str
    key_id: str
    secret: str
    client: Any

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a scan against this server, and nothing else."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID=self.key_id,
            AWS_SECRET_ACCESS_KEY=self.secret,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            NO_PROXY="127.0.0.1",
            no_proxy="127.0.0.1",
        )
        env.update(extra)
        return env

    def put(self, key: str, body: bytes) -> str:
        return str(self.client.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"])


def start_server(env: dict[str, str], script: str = "server.py", *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``script`` (the S3 server, or the delay line in front of it); it prints its port."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, port


@pytest.fixture(scope="session")
def store() -> Iterator[Store]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"  # creating the user, its policy and key; then IAM applies
    process, port = start_server(env)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        root = {"aws_access_key_id": "root-setup", "aws_secret_access_key": "root-setup", "region_name": "us-east-1"}
        iam = boto3.client("iam", endpoint_url=endpoint, **root)
        iam.create_user(UserName="scanner")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/denied/*"},
            ],
        }
        iam.put_user_policy(UserName="scanner", PolicyName="scan", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="scanner")["AccessKey"]
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=BUCKET)
        yield Store(endpoint, key["AccessKeyId"], key["SecretAccessKey"], client)
    finally:
        stop_server(process)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture()
def in_process(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """This process's environment pointed at the server (for storage and batch called directly)."""
    import s3fs

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in store.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    yield store
    s3fs.S3FileSystem.clear_instance_cache()
