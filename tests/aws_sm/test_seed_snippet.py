"""Done-when: the seed article's snippet, unchanged but for region and ARN, in a fresh process
that has nothing but the environment the offline cloud writes."""

from __future__ import annotations

import subprocess
import sys

SNIPPET = """
import sys
import boto3
from botocore.exceptions import ClientError

session = boto3.session.Session()
client = session.client(service_name='secretsmanager', region_name='us-east-1')
try:
    get_secret_value_response = client.get_secret_value(SecretId=sys.argv[1])
except ClientError as e:
    print(e.response['Error']['Code'])
    raise SystemExit(3)
print(get_secret_value_response['SecretString'])
"""


def run(env: dict[str, str], arn: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SNIPPET, arn],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_snippet_reads_with_the_right_role_and_is_denied_with_the_wrong_one(cloud, seeded):
    arn = seeded.arn("dev-api-key")
    ok = run(cloud.env("dev-app"), arn)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "demo-not-a-real-key-dev"
    denied = run(cloud.env("prod-app"), arn)
    assert denied.returncode == 3, denied.stderr
    assert denied.stdout.strip() == "AccessDeniedException"


def test_environment_has_role_credentials_not_admin_keys(cloud, seeded):
    env = cloud.env("dev-app")
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert env["AWS_SESSION_TOKEN"]
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    admin = cloud.env(None)
    assert admin["AWS_ACCESS_KEY_ID"].startswith("AKIA")
    assert "AWS_SESSION_TOKEN" not in admin
