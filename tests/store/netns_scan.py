"""Run inside ``unshare -n``: loopback up, an S3 server on it, two objects, one scan of them.

Usage: ``unshare -n python tests/store/netns_scan.py OUT.jsonl``. Exits with the
scan's exit code (0 expected); in this namespace nothing but loopback exists.
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from tests.store.conftest import start_server  # noqa: E402


def main() -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    server, port = start_server(env)
    try:
        import boto3

        endpoint = f"http://127.0.0.1:{port}"
        creds = {"aws_access_key_id": "netns-key", "aws_secret_access_key": "netns-secret"}
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **creds)
        client.create_bucket(Bucket="netns")
        for name in ("c2pa_ai_video.mp4", "c2pa_ai_created.jpg"):
            client.put_object(Bucket="netns", Key=f"in/{name}", Body=(REPO / "samples_benign" / name).read_bytes())
        env.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID=creds["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=creds["aws_secret_access_key"],
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        command = [sys.executable, "-m", "provenance", "scan", "s3://netns/in/", "--out", sys.argv[1], "--jobs", "2"]
        done = subprocess.run(command, env=env, cwd=REPO, timeout=100)
        # ai-generated files are flagged: exit 1 is the expected outcome of this scan.
        return 0 if done.returncode == 1 else done.returncode or 3
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
