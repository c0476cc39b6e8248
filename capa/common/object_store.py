"""The S3-compatible object store behind :mod:`capa.common.files`, chosen by ``CAPA_STORAGE_URL=s3://bucket[/prefix]``.

The rules:

- a file's path in the storage (``files/<key>``, ``<photo>``, ``pending/…``) is its object's key under the prefix
  (``prefix/files/<key>``), so the local upload folder copied into the bucket under the prefix is the same storage;
- the store is reached at ``CAPA_S3_ENDPOINT_URL`` (MinIO, Ceph, any S3-compatible server; AWS S3 itself when
  unset) with ``CAPA_S3_ACCESS_KEY_ID`` and ``CAPA_S3_SECRET_ACCESS_KEY`` in region ``CAPA_S3_REGION``; a setting
  left unset is taken where boto3 finds it (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
  ``AWS_DEFAULT_REGION``, ``~/.aws``, a role of the host);
- at an endpoint of its own the bucket is addressed in the path (``http://minio:9000/bucket/key``: no DNS name per
  bucket needed) and checksums are sent and checked only where S3 requires them, which every S3-compatible server
  understands; AWS S3 itself gets boto3's defaults;
- each call is tried at most :data:`ATTEMPTS` times, giving up on a connection after :data:`CONNECT_TIMEOUT` seconds
  and on an answer after :data:`READ_TIMEOUT`, so that a store out of reach refuses a step in seconds rather than
  holding the web worker for minutes;
- every failure is an OSError for :mod:`capa.common.files`: FileNotFoundError for an object that is not there
  (``NoSuchKey``), :class:`StoreFailed` for anything else (the endpoint out of reach, the keys refused, no such
  bucket, the store's own error), so a step storing a file is refused with 503 ``storage_unavailable`` and a file
  read answers 503, never a 500;
- a file is written with one ``PutObject``, which the store keeps whole or not at all, and read as a stream.
"""

import errno
import io
import re
import threading
from collections.abc import Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from capa.common.files import Stored, StoreFailed

ATTEMPTS = 3
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
#: A bucket name as S3 allows it: 3 to 63 lower-case letters, digits, dots and hyphens, a letter or digit at the ends.
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
#: One part of a prefix.
PREFIX_PART = re.compile(r"[A-Za-z0-9._-]+")
#: What the store answers for an object that is not there.
MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
#: One boto3 session for the process, which makes the clients (a client is safe to share between threads, a
#: session is not: the lock keeps two threads from making clients at once). It loads S3's description once.
_SESSION: boto3.session.Session | None = None
_SESSION_LOCK = threading.Lock()


def parse_url(url: str) -> tuple[str, str]:
    """The bucket and the prefix (``""`` or ending in ``/``) of ``s3://bucket[/prefix]``; raises ValueError
    naming CAPA_STORAGE_URL for anything else."""
    scheme, _, rest = url.strip().partition("://")
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.rstrip("/")
    parts = prefix.split("/") if prefix else []
    if (
        scheme != "s3"
        or not BUCKET.fullmatch(bucket)
        or ".." in bucket
        or any(not PREFIX_PART.fullmatch(part) or part in {".", ".."} for part in parts)
    ):
        raise ValueError(
            f"CAPA_STORAGE_URL must be s3://bucket or s3://bucket/prefix (a bucket name of 3 to 63 lower-case "
            f"letters, digits, dots and hyphens; a prefix of letters, digits, dots, hyphens and underscores), "
            f"not {url!r}"
        )
    return bucket, (prefix + "/" if prefix else "")


def check_settings(
    url: str,
    endpoint_url: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    region: str | None = None,
) -> None:
    """Raises ValueError naming the setting that cannot be used (see :func:`parse_url`)."""
    parse_url(url)
    if endpoint_url and not re.fullmatch(r"https?://[^\s/]+/?", endpoint_url):
        raise ValueError(f"CAPA_S3_ENDPOINT_URL must be an address such as http://minio:9000, not {endpoint_url!r}")
    if bool(access_key_id) != bool(secret_access_key):
        raise ValueError("CAPA_S3_ACCESS_KEY_ID and CAPA_S3_SECRET_ACCESS_KEY are given together, or neither")


class ObjectStore:
    """The files in one bucket of an S3-compatible store, under a prefix (see the module's rules)."""

    def __init__(
        self,
        url: str,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
    ):
        check_settings(url, endpoint_url, access_key_id, secret_access_key, region)
        self.bucket, self.prefix = parse_url(url)
        self.place = f"s3://{self.bucket}/{self.prefix}" + (f" at {endpoint_url}" if endpoint_url else "")
        options: dict = {
            "connect_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "retries": {"mode": "standard", "total_max_attempts": ATTEMPTS},
        }
        if endpoint_url:
            options |= {
                "s3": {"addressing_style": "path"},
                "request_checksum_calculation": "when_required",
                "response_checksum_validation": "when_required",
            }
        global _SESSION
        with _SESSION_LOCK:
            _SESSION = _SESSION or boto3.session.Session()
            self.client = _SESSION.client(
                "s3",
                endpoint_url=endpoint_url or None,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                region_name=region or None,
                config=Config(**options),
            )

    def save(self, path: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + path, Body=data)
        except (BotoCoreError, ClientError) as error:
            raise self._failed("store", path, error) from error

    def open(self, path: str) -> Stored:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + path)
        except (BotoCoreError, ClientError) as error:
            raise self._failed("read", path, error) from error
        body = io.BufferedReader(_Body(answer["Body"], self, path), 256 * 1024)
        return Stored(body, int(answer["ContentLength"]), answer["LastModified"].timestamp())

    def delete(self, path: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + path)
        except (BotoCoreError, ClientError) as error:
            raise self._failed("delete", path, error) from error

    def walk(self, folder: str) -> Iterator[tuple[str, float]]:
        start = self.prefix + (folder.strip("/") + "/" if folder else "")
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
        try:
            for page in pages:
                for entry in page.get("Contents", []):
                    yield entry["Key"][len(self.prefix) :], entry["LastModified"].timestamp()
        except (BotoCoreError, ClientError) as error:
            raise self._failed("list", folder, error) from error

    def _failed(self, doing: str, path: str, error: Exception) -> OSError:
        """The OSError a failed call raises: FileNotFoundError for an object that is not there."""
        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in MISSING:
                return FileNotFoundError(errno.ENOENT, f"no object {self.prefix}{path} in s3://{self.bucket}")
            said = f"{code}: {error.response.get('Error', {}).get('Message', '')}".strip(": ")
        else:
            said = str(error)
        return StoreFailed(errno.EIO, f"could not {doing} {path} in {self.place}: {said}")


class _Body(io.RawIOBase):
    """An object's body read in pieces; a failure in the middle (the store gone, the connection cut) is an OSError."""

    def __init__(self, body, store: ObjectStore, path: str):
        self._body, self._store, self._path = body, store, path

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._body.read(len(buffer))
        except BotoCoreError as error:
            raise self._store._failed("read", self._path, error) from error
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
