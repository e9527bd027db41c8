"""S3 storage, switched on by environment only, against a local S3-compatible server over
real HTTP (moto's server): the original and the thumbnail land in the bucket, the browser
gets a signed URL of our storage, never the gateway's."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys

import boto3
import httpx
import pytest
from PIL import Image

from .conftest import ROOT

BUCKET = "imagestudio-test"
SCRIPT = """
import base64, json, sys
import django
django.setup()
from django.core.files.storage import default_storage
from imagestudio.studio import imaging
fields = imaging.store(base64.b64decode(sys.stdin.read()))
print(json.dumps({**fields, "url": default_storage.url(fields["image"]),
                  "backend": type(default_storage._wrapped).__name__}))
"""


@pytest.fixture(scope="module")
def s3():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test-key-id",
        aws_secret_access_key="test-secret",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint, client
    server.stop()


def test_images_go_to_the_bucket_and_are_served_by_signed_url(s3, tmp_path):
    endpoint, client = s3
    png = io.BytesIO()
    Image.new("RGB", (1280, 720), "orange").save(png, "PNG")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGESTUDIO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="imagestudio.settings",
        IMAGESTUDIO_DATA_DIR=str(tmp_path),
        IMAGESTUDIO_S3_BUCKET=BUCKET,
        IMAGESTUDIO_S3_ENDPOINT_URL=endpoint,
        IMAGESTUDIO_S3_ACCESS_KEY_ID="test-key-id",
        IMAGESTUDIO_S3_SECRET_ACCESS_KEY="test-secret",
        IMAGESTUDIO_S3_REGION="us-east-1",
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        input=base64.b64encode(png.getvalue()).decode(),
        capture_output=True,
        text=True,
        check=True,
    )
    fields = json.loads(result.stdout.strip().splitlines()[-1])
    assert fields["backend"] == "S3Storage"
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {fields["image"], fields["thumbnail"]} <= keys
    stored = client.get_object(Bucket=BUCKET, Key=fields["image"])["Body"].read()
    assert stored == png.getvalue()
    assert (fields["width"], fields["height"]) == (1280, 720)
    # Nothing on local disk: the media dir stays empty with S3 on.
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.png"))

    url = fields["url"]
    assert url.startswith(endpoint) and "Signature" in url
    assert httpx.get(url).content == png.getvalue()
