"""A deterministic zip: same files in, same bytes out (so a deploy can skip unchanged code).

Entries are sorted by name, stamped 1980-01-01 00:00:00, marked as Unix files with mode 0644 (0755 for
directories is never needed: Lambda only reads), and compressed with a fixed deflate level.
``SizeReport`` compares the result with Lambda's limits: 50 MB for a zip uploaded directly, 250 MB unzipped
(the limit that matters when the code is fetched from S3).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
LAMBDA_DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def deterministic_zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = 3  # Unix, whatever the build machine
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name], compresslevel=6)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class SizeReport:
    zipped_bytes: int
    unzipped_bytes: int
    files: int

    @property
    def fits_unzipped(self) -> bool:
        return self.unzipped_bytes <= LAMBDA_UNZIPPED_LIMIT

    @property
    def fits_direct_upload(self) -> bool:
        return self.zipped_bytes <= LAMBDA_DIRECT_UPLOAD_LIMIT

    def describe(self) -> str:
        upload = "fits a direct upload" if self.fits_direct_upload else "needs S3 (over 50 MB zipped)"
        unzipped = "within" if self.fits_unzipped else "OVER"
        return (
            f"{self.files} files, {_mib(self.zipped_bytes)} zipped ({upload}), "
            f"{_mib(self.unzipped_bytes)} unzipped ({unzipped} Lambda's 250 MB limit)"
        )


def size_report(files: Mapping[str, bytes], archive: bytes) -> SizeReport:
    return SizeReport(len(archive), sum(len(data) for data in files.values()), len(files))


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"
