"""A policy file read once: the text is what text-mode reading gave, the digest its bytes'."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from engine.policy.source import decode, digest, read_source

SAMPLES = [
    b"",
    b"plain\n",
    b"crlf\r\nlone cr\rend\r",
    b"\r\n\r\n\r",
    b"caf\xc3\xa9 \xe9 \xff\xfe undecodable, \xf0\x9f\x98\x80 and a split \xe2\x82",
    b"\xef\xbb\xbfa byte order mark stays",
    b"x" * 70000 + b"\r" + b"\n" + b"y" * 10,  # a CR LF across the reader's chunks
]


@pytest.mark.parametrize("raw", SAMPLES)
def test_text_and_digest_are_those_of_one_read(tmp_path: Path, raw: bytes) -> None:
    f = tmp_path / "p.cf"
    f.write_bytes(raw)
    with open(f, encoding="utf-8", errors="surrogateescape") as fh:
        expected = fh.read()
    assert decode(raw) == expected
    assert read_source(str(f)) == (expected, digest(raw))
    assert digest(raw) == hashlib.blake2b(raw, digest_size=32).hexdigest()


def test_a_missing_file_or_a_directory_raise_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        read_source(str(tmp_path / "missing.cf"))
    with pytest.raises(OSError):
        read_source(str(tmp_path))
