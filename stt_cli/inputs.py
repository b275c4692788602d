"""What the user asked to transcribe: local files, URLs, stdin, directories and input lists.

Each input becomes an ``AudioSource``. Checks that need no network happen here, so bad input fails
before anything is uploaded or billed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from stt_cli.errors import UsageError

AUDIO_EXTENSIONS = frozenset(
    "flac mp3 mp4 mpeg mpga m4a ogg oga opus wav webm aac amr mov mkv".split()
)
# Leading bytes of common audio/video containers; used to refuse text files given as audio.
_MAGIC = (b"RIFF", b"ID3", b"fLaC", b"OggS", b"\x1a\x45\xdf\xa3", b"#!AMR", b"FORM", b".snd")
_MIME = {
    "wav": "audio/wav", "mp3": "audio/mpeg", "mpga": "audio/mpeg", "mpeg": "audio/mpeg",
    "flac": "audio/flac", "ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/ogg",
    "m4a": "audio/mp4", "mp4": "audio/mp4", "aac": "audio/aac", "webm": "audio/webm",
    "amr": "audio/amr", "mov": "video/quicktime", "mkv": "video/x-matroska",
}


@dataclass
class AudioSource:
    """One input. ``kind`` is "file", "url" or "stdin" (stdin is spooled to ``path``)."""

    kind: str
    name: str  # as the user wrote it; shown in messages and stored in the ledger
    path: Path | None = None
    url: str | None = None
    _sha256: str | None = field(default=None, repr=False)

    @property
    def stem(self) -> str:
        if self.kind == "stdin":
            return "stdin"
        if self.kind == "url":
            tail = Path(unquote(urlsplit(self.url or "").path)).name
            return Path(tail).stem or urlsplit(self.url or "").hostname or "audio"
        return Path(self.name).stem

    @property
    def filename(self) -> str:
        if self.kind == "file" and self.path is not None:
            return self.path.name
        return f"{self.stem}.{self.extension or 'bin'}"

    @property
    def extension(self) -> str:
        source = self.path.name if self.kind == "file" and self.path else (urlsplit(self.url or "").path)
        return Path(source).suffix.lstrip(".").lower()

    @property
    def mimetype(self) -> str:
        return _MIME.get(self.extension, "application/octet-stream")

    @property
    def size(self) -> int | None:
        return self.path.stat().st_size if self.path is not None else None

    def sha256(self) -> str:
        """Content hash for local audio, the URL itself for remote audio (the server fetches it)."""
        if self._sha256 is None:
            digest = hashlib.sha256()
            if self.path is not None:
                with open(self.path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
            else:
                digest.update((self.url or "").encode())
            self._sha256 = digest.hexdigest()
        return self._sha256

    def open(self) -> BinaryIO:
        assert self.path is not None
        return open(self.path, "rb")


def looks_like_audio(head: bytes) -> bool:
    if head.startswith(_MAGIC):
        return True
    if len(head) >= 12 and head[4:8] == b"ftyp":  # mp4 / m4a / mov
        return True
    if head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xf1", b"\xff\xf9"):  # mp3 / aac frames
        return True
    return False


# Leading bytes of common files that are certainly not audio: refused by name rather than uploaded.
_NOT_AUDIO = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (or an office document)"),
    (b"\x1f\x8b", "a gzip archive"), (b"BZh", "a bzip2 archive"), (b"\xfd7zXZ", "an xz archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"), (b"\x7fELF", "an executable"), (b"MZ", "an executable"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
# Bytes that never occur in text: C0 controls but tab, newline, form feed and carriage return; DEL; C1.
_NON_TEXT_BYTES = frozenset([*range(0, 9), 11, *range(14, 32), *range(127, 160)])


def is_probably_text(head: bytes) -> bool:
    """UTF-8, UTF-16 with a byte-order mark, or single-byte text (Latin-1 and the like)."""
    if not head:
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            head[2:len(head) - len(head) % 2].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be")
        except UnicodeDecodeError:
            return False
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return not _NON_TEXT_BYTES.intersection(head)  # a cut-off UTF-8 sequence still passes here
    return b"\x00" not in head


def describe_non_audio(head: bytes) -> str | None:
    """What these leading bytes are, when they are surely not audio; None when they may be."""
    if looks_like_audio(head):
        return None
    for magic, what in _NOT_AUDIO:
        if head.startswith(magic):
            return what
    return "a text file" if is_probably_text(head) else None


def check_local_file(name: str) -> AudioSource:
    path = Path(name)
    if not path.exists():
        raise UsageError(f"no such file: {name}")
    if path.is_dir():
        raise UsageError(f"{name} is a directory with no audio files in it" if not any(find_audio(path))
                         else f"{name} is a directory", hint="pass the files, or the directory to take "
                         "every audio file under it")
    if not path.is_file():
        # A pipe or device (`<(cmd)`, a FIFO, /dev/zero): it can be read once, may never end, and has
        # no size to promise the server. stdin is the way to stream audio in.
        raise UsageError(f"{name} is not a regular file (a pipe or a device)",
                         hint="pipe the audio to stdin instead: cmd | stt transcribe -")
    if not os.access(path, os.R_OK):
        raise UsageError(f"cannot read {name}: permission denied")
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    if not head:
        raise UsageError(f"{name} is empty")
    what = describe_non_audio(head)
    if what is not None:
        raise UsageError(f"{name} looks like {what}, not audio",
                         hint="pass an audio or video file (wav, mp3, flac, m4a, ogg, webm, …)")
    return AudioSource(kind="file", name=name, path=path)


def check_url(name: str) -> AudioSource:
    try:
        parts = urlsplit(name)
        hostname = parts.hostname  # parses the host: "http://[::1/a" fails here
    except ValueError as exc:
        raise UsageError(f"malformed URL {name}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"unsupported URL scheme {parts.scheme!r} in {name}",
                         hint="use an http(s) URL, a local file, or - for stdin")
    if not hostname:
        raise UsageError(f"malformed URL: {name}")
    if any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise UsageError(f"malformed URL {name!r}: it contains spaces or control characters",
                         hint="encode spaces in the path as %20")
    return AudioSource(kind="url", name=name, url=name)


def spool_stdin(stream: BinaryIO | None = None, directory: Path | None = None) -> AudioSource:
    """Copy stdin to a temporary file in chunks: uploads need a length and a re-readable body."""
    stream = stream or sys.stdin.buffer
    fd, tmp = tempfile.mkstemp(prefix="stt-stdin-", suffix=".audio", dir=directory)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    path = Path(tmp)
    with open(path, "rb") as fh:
        head = fh.read(512)
    what = describe_non_audio(head) if head else None
    if not head or what is not None:
        path.unlink()
        if not head:
            raise UsageError("stdin is empty", hint="pipe audio into stt, e.g. `cat talk.wav | stt transcribe -`")
        raise UsageError(f"stdin looks like {what}, not audio",
                         hint="pipe audio into stt, e.g. `cat talk.wav | stt transcribe -`")
    return AudioSource(kind="stdin", name="-", path=path)


def is_url(name: str) -> bool:
    return "://" in name


def find_audio(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.rglob("*")
        if p.is_file() and p.suffix.lower().lstrip(".") in AUDIO_EXTENSIONS and not p.name.startswith(".")
    )


def read_input_list(name: str) -> list[str]:
    """Inputs from ``--from-file``: one per line, blank lines and ``#`` comments skipped."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read input list {name}: {exc.strerror}") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


STDIN_PATHS = frozenset({"/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})


def expand_inputs(names: list[str]) -> list[str]:
    """Directories become the audio files under them; duplicates are dropped, order kept."""
    expanded: list[str] = []
    for name in names:
        name = "-" if name in STDIN_PATHS else name  # the same stream by another name
        if is_url(name):
            check_url(name)  # before anything plans output names from it
        path = Path(name)
        if name != "-" and not is_url(name) and path.is_dir():
            found = find_audio(path)
            if not found:
                raise UsageError(f"{name} is a directory with no audio files in it",
                                 hint=f"audio extensions: {', '.join(sorted(AUDIO_EXTENSIONS))}")
            expanded.extend(str(p) for p in found)
        else:
            expanded.append(name)
    seen: set[str] = set()
    unique = []
    for name in expanded:
        key = name if is_url(name) or name == "-" else os.path.realpath(name)
        if key not in seen:
            seen.add(key)
            unique.append(name)
    if unique.count("-") > 1:
        raise UsageError("stdin (-) can be given only once")
    return unique


def open_source(name: str) -> AudioSource:
    if name == "-":
        return spool_stdin()
    if is_url(name):
        return check_url(name)
    return check_local_file(name)
