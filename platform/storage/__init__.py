"""Object storage: S3 clients with an explicit endpoint (MinIO, AWS, the local endpoint) and retries."""

from ganforge.platform.storage.retry import is_transient, retry
from ganforge.platform.storage.s3 import list_objects, s3_client, split_s3_uri

__all__ = ["is_transient", "list_objects", "retry", "s3_client", "split_s3_uri"]
