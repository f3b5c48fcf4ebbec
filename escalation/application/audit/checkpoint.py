r"""Signed checkpoints: an auditor's proof, kept outside the database, of what the log was.

A checkpoint is a short text naming a log position, the number of rows up to
it, the running digest of those rows (``escalation.adapters.persistence.read_head``),
when it was taken and the Ed25519 public key that signed it::

    escalation checkpoint 1
    position: 1234
    records: 1234
    digest: <64 hex digits>
    time: 2026-12-01T22:00:00+00:00
    public-key: <64 hex digits>
    signature: <128 hex digits>

The signature is Ed25519 over the UTF-8 bytes of every line before the
``signature:`` line, each ending in ``"\n"`` (so a copy whose line endings
became CRLF still verifies; any other change does not). ``verify --checkpoint``
recomputes the digest from the stored rows: a log that merely *extends* the
checkpoint gives the same digest at that position, and any rewrite of those
rows — even one that recomputes every hash inside the database — does not.

Signing keys are Ed25519 private keys in unencrypted PKCS8 PEM files (mode
0600). Error messages name files, lines and problems, never key material.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from escalation.errors import InvalidInput

HEADER: Final = "escalation checkpoint 1"
MAX_CHECKPOINT_BYTES: Final = 4096
MAX_KEY_BYTES: Final = 16 * 1024
FIELDS: Final = ("position", "records", "digest", "time", "public-key")
SIGNATURE: Final = "signature"
MAX_POSITION: Final = 2**63 - 1  # a BIGINT id

_INTEGER = re.compile(r"0|[1-9][0-9]{0,18}", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_HEX128 = re.compile(r"[0-9a-f]{128}", re.ASCII)
_KEY = re.compile(r"[a-z][a-z-]{0,30}", re.ASCII)


class Head(Protocol):
    """What a checkpoint records of the log (``escalation.adapters.persistence.LogHead``)."""

    @property
    def position(self) -> int: ...

    @property
    def records(self) -> int: ...

    @property
    def digest(self) -> str: ...


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint; ``signed`` is the exact message the signature covers."""

    position: int
    records: int
    digest: str
    time: datetime
    public_key: str
    signature: str
    signed: bytes

    @property
    def anchor(self) -> tuple[int, str]:
        """``(position, digest)``, as ``verify(expect=[...])`` takes it."""
        return self.position, self.digest


# ------------------------------------------------------------------ the text


def make_checkpoint(head: Head, at: datetime, private_key: Ed25519PrivateKey) -> str:
    """The signed checkpoint text for ``head`` taken at ``at`` (timezone-aware)."""
    if head.position < 1 or head.records < 1:
        raise InvalidInput("the log is empty: there is nothing to checkpoint yet")
    if head.position > MAX_POSITION or head.records > head.position:
        raise InvalidInput(
            f"the log head is inconsistent (position {head.position}, records "
            f"{head.records}): a checkpoint cannot be made of it"
        )
    if _HEX64.fullmatch(head.digest) is None:
        raise InvalidInput("the log head's digest is not 64 lowercase hex digits")
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("the checkpoint time must be timezone-aware")
    lines = [
        HEADER,
        f"position: {head.position}",
        f"records: {head.records}",
        f"digest: {head.digest}",
        f"time: {at.astimezone(UTC).isoformat(timespec='seconds')}",
        f"public-key: {public_key_hex(private_key)}",
    ]
    message = _message(lines)
    signature = private_key.sign(message).hex()
    return message.decode("utf-8") + f"{SIGNATURE}: {signature}\n"


def parse_checkpoint(text: str | bytes, source: str = "checkpoint") -> Checkpoint:
    """Parse a checkpoint strictly; any problem is an ``InvalidInput`` naming the line.

    This checks the form only: call ``check_signature`` before trusting it.
    """
    raw = _encoded(text, source)
    if len(raw) > MAX_CHECKPOINT_BYTES:
        raise InvalidInput(
            f"{source}: {len(raw):,} bytes, more than a checkpoint's "
            f"{MAX_CHECKPOINT_BYTES:,}: not a checkpoint"
        )
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(f"{source}: line {bad}: not UTF-8 text: not a checkpoint") from None
    lines = [line.removesuffix("\r") for line in decoded.removeprefix("\ufeff").split("\n")]
    while lines and lines[-1] == "":
        lines.pop()  # the final newline, and blank lines an editor may add
    if not lines:
        raise InvalidInput(f"{source}: empty: not a checkpoint")
    if lines[0] != HEADER:
        raise InvalidInput(
            f"{source}: line 1: {_shown(lines[0])} is not {HEADER!r}: "
            + (
                "a checkpoint format this version cannot read"
                if lines[0].startswith("escalation checkpoint ")
                else "not a checkpoint"
            )
        )
    values: dict[str, tuple[int, str]] = {}
    signature_line = 0
    for number, line in enumerate(lines[1:], start=2):
        if signature_line:
            raise InvalidInput(f"{source}: line {number}: nothing may follow the signature")
        key, sep, value = line.partition(": ")
        if not sep or _KEY.fullmatch(key) is None:
            raise InvalidInput(f"{source}: line {number}: {_shown(line)} is not 'key: value'")
        if key not in (*FIELDS, SIGNATURE):
            raise InvalidInput(
                f"{source}: line {number}: unknown key {key!r} "
                f"(a checkpoint has {', '.join((*FIELDS, SIGNATURE))})"
            )
        if key in values:
            raise InvalidInput(
                f"{source}: line {number}: {key!r} again (first on line {values[key][0]})"
            )
        values[key] = (number, value)
        if key == SIGNATURE:
            signature_line = number
    missing = [k for k in (*FIELDS, SIGNATURE) if k not in values]
    if missing:
        raise InvalidInput(f"{source}: missing {', '.join(repr(k) for k in missing)}")

    def field(key: str, pattern: re.Pattern[str], what: str) -> str:
        number, value = values[key]
        if pattern.fullmatch(value) is None:
            raise InvalidInput(f"{source}: line {number}: {key} {_shown(value)} is not {what}")
        return value

    position = int(field("position", _INTEGER, "a whole number (no sign, no leading zeros)"))
    records = int(field("records", _INTEGER, "a whole number (no sign, no leading zeros)"))
    if not 1 <= position <= MAX_POSITION:
        raise InvalidInput(
            f"{source}: line {values['position'][0]}: position must be 1 to {MAX_POSITION}"
        )
    if not 1 <= records <= position:
        raise InvalidInput(
            f"{source}: line {values['records'][0]}: records must be 1 to the position "
            f"({position}): ids are unique and rise"
        )
    digest = field("digest", _HEX64, "64 lowercase hex digits")
    public_key = field("public-key", _HEX64, "64 lowercase hex digits (an Ed25519 public key)")
    signature = field(SIGNATURE, _HEX128, "128 lowercase hex digits (an Ed25519 signature)")
    time = _time(values["time"], source)
    return Checkpoint(
        position=position,
        records=records,
        digest=digest,
        time=time,
        public_key=public_key,
        signature=signature,
        signed=_message(lines[: signature_line - 1]),
    )


def check_signature(cp: Checkpoint, expected_public_key: str | Iterable[str] | None = None) -> None:
    """Raise ``InvalidInput`` unless the signature is valid (and, if given, by a trusted key).

    ``expected_public_key`` is one public key (64 hex digits) or several: the
    checkpoint must be signed by one of them. Without it the key written in
    the checkpoint is taken at its word, which proves the text unaltered but
    not who made it.
    """
    trusted: list[str] = []
    if isinstance(expected_public_key, str):
        trusted = [_public_key_text(expected_public_key)]
    elif expected_public_key is not None:
        trusted = [_public_key_text(k) for k in expected_public_key]
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(cp.public_key))
        public.verify(bytes.fromhex(cp.signature), cp.signed)
    except (InvalidSignature, ValueError):
        raise InvalidInput(
            "the checkpoint's signature does not verify: the text was changed after it "
            "was signed (or the signature was copied from another checkpoint)"
        ) from None
    if trusted and cp.public_key not in trusted:
        raise InvalidInput(
            f"the checkpoint was signed by public key {cp.public_key}, not by "
            + (
                f"the expected {trusted[0]}"
                if len(trusted) == 1
                else f"any of the {len(trusted)} expected keys"
            )
        )


def read_checkpoint(path: Path) -> Checkpoint:
    """Read and parse a checkpoint file (at most ``MAX_CHECKPOINT_BYTES``)."""
    raw = _read_capped(path, MAX_CHECKPOINT_BYTES, "checkpoint file")
    return parse_checkpoint(raw, source=f"checkpoint file {path}")


def write_new_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to a file that must not exist yet; nothing is left behind on failure."""
    _write_new(path, text.encode("utf-8"), mode, "file")


# ------------------------------------------------------------------- keys


def create_key(path: Path) -> Ed25519PrivateKey:
    """Make an Ed25519 signing key and write it to ``path`` (new file, mode 0600)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_new(path, pem, 0o600, "key file")
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file, or an ``InvalidInput`` saying what is wrong."""
    make = "make one with `escalation keys create FILE`"
    if not path.exists() and not path.is_symlink():
        raise InvalidInput(
            f"signing key file {path} not found; {make} (and keep it where only you can read it)"
        )
    data = _read_capped(path, MAX_KEY_BYTES, "signing key file")
    if b"-----BEGIN " not in data:
        raise InvalidInput(f"signing key file {path} is not a PEM private key; {make}")
    if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
        raise InvalidInput(
            f"signing key file {path} is an OpenSSH key; checkpoints need a PKCS8 PEM "
            f"Ed25519 key: {make}"
        )
    if b"-----BEGIN PUBLIC KEY-----" in data and b"PRIVATE KEY-----" not in data:
        raise InvalidInput(
            f"signing key file {path} holds a public key; signing needs the private key file"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # a password-protected key
        raise InvalidInput(
            f"signing key file {path} is encrypted with a password; use an unencrypted "
            f"PKCS8 key kept where only you can read it ({make})"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidInput(
            f"signing key file {path} is corrupt or truncated: it does not decode as a "
            f"PEM private key; restore it from its copy or {make}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(
            f"signing key file {path} holds {_kind(key)} key; checkpoints are signed with "
            f"Ed25519 keys: {make}"
        )
    return key


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte Ed25519 public key as 64 lowercase hex digits."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


# ---------------------------------------------------------------- helpers


def _message(lines: Iterable[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def _encoded(text: str | bytes, source: str) -> bytes:
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates
        line = text.count("\n", 0, exc.start) + 1
        raise InvalidInput(f"{source}: line {line}: not UTF-8 text: not a checkpoint") from None


def _time(entry: tuple[int, str], source: str) -> datetime:
    number, value = entry
    problem = f"{source}: line {number}: time {_shown(value)} is not"
    if not value.isascii() or len(value) > 40:
        raise InvalidInput(f"{problem} an ISO 8601 time with a UTC offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{problem} an ISO 8601 time with a UTC offset") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{problem} timezone-aware (add a UTC offset such as +00:00)")
    return parsed


def _public_key_text(text: str) -> str:
    value = text.strip().lower()
    if _HEX64.fullmatch(value) is None:
        raise InvalidInput(
            f"public key {_shown(text)} is not 64 hex digits (as `escalation keys show` prints)"
        )
    return value


def _shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _kind(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"an RSA ({key.key_size}-bit)"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC ({key.curve.name})"
    if isinstance(key, dsa.DSAPrivateKey):
        return "a DSA"
    if isinstance(key, ed448.Ed448PrivateKey):
        return "an Ed448"
    if isinstance(key, x25519.X25519PrivateKey | x448.X448PrivateKey):
        return "a key-exchange (X25519/X448)"
    return f"a {type(key).__name__}"


def _read_capped(path: Path, cap: int, what: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(cap + 1)
    except FileNotFoundError:
        raise InvalidInput(f"{what} {path} not found") from None
    except IsADirectoryError:
        raise InvalidInput(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > cap:
        raise InvalidInput(f"{what} {path} is larger than {cap:,} bytes: not a {what}")
    return data


def _write_new(path: Path, data: bytes, mode: int, what: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise InvalidInput(
            f"{path} exists; refusing to overwrite it (choose another {what} name)"
        ) from None
    except OSError as exc:
        raise InvalidInput(f"cannot create {what} {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {what} {path}: {exc.strerror or exc}") from None
