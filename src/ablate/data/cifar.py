"""CIFAR-10 from its canonical binary archive: fetched by pooch with a pinned SHA256 and
parsed with numpy, so nothing downloaded is ever unpickled."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from ablate.data.images import Images
from ablate.errors import DataError

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
FILENAME = "cifar-10-binary.tar.gz"
RECORD = 1 + 32 * 32 * 3  # label byte, then 1024 bytes per channel (R, G, B)
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILE = "test_batch.bin"
RETRIES = 2
TIMEOUT_S = 60.0


def fetch(raw_dir: Path, url: str | None = None, sha256: str | None = None) -> Path:
    """Download the archive once into `raw_dir`, verify its hash, and return its path.

    pooch writes to a temporary file and moves it into place only after the hash matches,
    so a failed or corrupted download leaves nothing behind.
    """
    import pooch

    raw_dir.mkdir(parents=True, exist_ok=True)
    url = url or URL
    known = f"sha256:{sha256 or SHA256}"
    store = pooch.create(
        path=raw_dir,
        base_url="",
        registry={FILENAME: known},
        urls={FILENAME: url},
        retry_if_failed=RETRIES,
    )
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=TIMEOUT_S)
    try:
        return Path(store.fetch(FILENAME, downloader=downloader))
    except ValueError as err:  # pooch's hash mismatch
        raise DataError(f"CIFAR-10 archive from {url} failed its SHA256 check: {err}") from None
    except Exception as err:  # network errors, after pooch's retries
        raise DataError(
            f"could not download CIFAR-10 from {url} after {RETRIES + 1} tries: "
            f"{type(err).__name__}: {err}"
        ) from None


def parse_batches(blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Records of the binary format -> uint8 images (N, 32, 32, 3) and int64 labels."""
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    if data.size == 0 or data.size % RECORD:
        raise DataError(f"CIFAR-10 batch size {data.size} is not a multiple of {RECORD} bytes")
    records = data.reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"CIFAR-10 label {labels.max()} is out of range 0-9")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def read_archive(archive: Path) -> Images:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}

            def read(name: str) -> bytes:
                if name not in members:
                    raise DataError(f"{archive} has no member {name!r}")
                handle = tar.extractfile(members[name])
                assert handle is not None
                return handle.read()

            x, y = parse_batches([read(name) for name in TRAIN_FILES])
            xt, yt = parse_batches([read(TEST_FILE)])
            classes = read("batches.meta.txt").decode().split()
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"{archive} is not a readable CIFAR-10 archive: {err}") from None
    return Images(x, y, classes or [str(i) for i in range(10)], test=(xt, yt))


def load_cifar10(raw_dir: Path, url: str | None = None, sha256: str | None = None) -> Images:
    return read_archive(fetch(raw_dir, url, sha256))
