"""A real S3 endpoint for tests: moto's server on a free loopback port, in a background thread."""

from __future__ import annotations

import logging
import uuid

from moto.server import ThreadedMotoServer


class MotoS3:
    """Serves moto's S3 API until `stop()`; `endpoint_url` is `http://127.0.0.1:<port>`."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def start(self) -> MotoS3:
        """Start serving and note the port it bound."""
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def create_bucket(self) -> str:
        """Create a bucket with a fresh name and return the name (needs the AWS_* test variables set)."""
        import boto3

        name = f"cairn-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=self.endpoint_url).create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in the bucket under `prefix`, sorted."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint_url)
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""Credentials moto accepts; `AWS_ENDPOINT_URL_S3` (honoured by botocore, so by s3fs) points at moto."""
