"""CIFAR-10 download and parsing, against a small archive of the real format served on
127.0.0.1: a good archive parses, a corrupted one fails its hash and leaves nothing."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ablate.data import cifar
from ablate.errors import DataError


def make_archive(n_train: int = 4, n_test: int = 3) -> tuple[bytes, np.ndarray]:
    """A tar.gz laid out like cifar-10-binary.tar.gz with a few records per batch."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    records = []
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for name in [*cifar.TRAIN_FILES, cifar.TEST_FILE]:
            n = n_test if name == cifar.TEST_FILE else n_train
            batch = rng.integers(0, 256, size=(n, cifar.RECORD), dtype=np.uint8)
            batch[:, 0] = rng.integers(0, 10, size=n)
            records.append(batch)
            add(name, batch.tobytes())
        add(
            "batches.meta.txt",
            b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n",
        )
    return buffer.getvalue(), np.concatenate(records)


class Server:
    """Serves `files` (name -> bytes) on 127.0.0.1; `hang` makes every request stall."""

    def __init__(self, files: dict[str, bytes], hang: float = 0.0) -> None:
        self.files, self.hang, self.requests = files, hang, 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                server.requests += 1
                if server.hang:
                    time.sleep(server.hang)
                    return
                body = server.files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[functools.partial]:
    servers: list[Server] = []

    def start(files: dict[str, bytes], hang: float = 0.0) -> Server:
        servers.append(Server(files, hang))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def test_good_archive_downloads_and_parses(serve, tmp_path: Path):
    blob, records = make_archive()
    server = serve({"c.tar.gz": blob})
    images = cifar.load_cifar10(
        tmp_path, url=f"{server.url}/c.tar.gz", sha256=hashlib.sha256(blob).hexdigest()
    )
    assert images.x.shape == (20, 32, 32, 3) and images.test[0].shape == (3, 32, 32, 3)
    assert images.y.tolist() == records[:20, 0].tolist()
    # channel-major records: byte 1 is the red value of the top-left pixel
    assert images.x[0, 0, 0, 0] == records[0, 1] and images.x[0, 0, 0, 1] == records[0, 1 + 1024]
    assert images.classes[0] == "airplane" and len(images.classes) == 10
    # a second load reads the verified file and does not download again
    cifar.load_cifar10(
        tmp_path, url=f"{server.url}/c.tar.gz", sha256=hashlib.sha256(blob).hexdigest()
    )
    assert server.requests == 1


def test_corrupted_archive_fails_its_hash_and_leaves_nothing(serve, tmp_path: Path):
    blob, _ = make_archive()
    corrupted = bytearray(blob)
    corrupted[len(corrupted) // 2] ^= 0xFF
    server = serve({"c.tar.gz": bytes(corrupted)})
    with pytest.raises(DataError, match="failed its SHA256 check"):
        cifar.load_cifar10(
            tmp_path, url=f"{server.url}/c.tar.gz", sha256=hashlib.sha256(blob).hexdigest()
        )
    assert [p.name for p in tmp_path.iterdir()] == []


def test_truncated_archive_with_matching_hash_is_a_clear_error(serve, tmp_path: Path):
    blob, _ = make_archive()
    truncated = blob[: len(blob) // 2]
    server = serve({"c.tar.gz": truncated})
    with pytest.raises(DataError, match="is not a readable CIFAR-10 archive"):
        cifar.load_cifar10(
            tmp_path, url=f"{server.url}/c.tar.gz", sha256=hashlib.sha256(truncated).hexdigest()
        )


def test_silent_server_times_out_after_retries(serve, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(cifar, "TIMEOUT_S", 0.5)
    server = serve({}, hang=3.0)
    with pytest.raises(DataError, match="could not download CIFAR-10 .* after 3 tries"):
        cifar.load_cifar10(tmp_path, url=f"{server.url}/c.tar.gz", sha256="0" * 64)
    assert server.requests == 3
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_record_parser_rejects_ragged_data():
    with pytest.raises(DataError, match="not a multiple of 3073"):
        cifar.parse_batches([b"\x00" * 100])
