"""Signed checkpoints: the text, the keys, and ``escalation checkpoint | verify --checkpoint | keys``.

Real key files and SQLite stores in ``tmp_path``; nothing is mocked.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import sqlite3
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.adapters.persistence import LogHead, read_head
from escalation.application.audit.checkpoint import (
    HEADER,
    MAX_CHECKPOINT_BYTES,
    Checkpoint,
    check_signature,
    create_key,
    load_private_key,
    make_checkpoint,
    parse_checkpoint,
    public_key_hex,
    read_checkpoint,
)
from escalation.entrypoints.cli import app
from escalation.errors import EscalationError, InvalidInput, StorageError
from tests.helpers import SMALL_RULES, T0, hours

runner = CliRunner(env={"COLUMNS": "250"})

HEAD = LogHead(position=1234, records=1230, digest="3f" * 32)
AT = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
SIGNER = Ed25519PrivateKey.generate()  # for the property tests (no fixtures there)
VALID = make_checkpoint(HEAD, AT, SIGNER)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "signing.pem"
    create_key(path)
    return path


def lines_of(text: str) -> list[str]:
    return text.splitlines()


def with_line(text: str, key: str, value: str) -> str:
    """The text with ``key``'s value replaced (the signature left as it was)."""
    return "".join(
        f"{key}: {value}\n" if line.startswith(f"{key}: ") else f"{line}\n"
        for line in lines_of(text)
    )


# ------------------------------------------------------------------ the text


def test_a_checkpoint_round_trips_and_its_signature_verifies(key_file: Path) -> None:
    key = load_private_key(key_file)
    text = make_checkpoint(HEAD, AT.astimezone(timezone(timedelta(hours=8))), key)
    assert lines_of(text)[0] == HEADER
    assert [line.split(": ")[0] for line in lines_of(text)[1:]] == [
        "position",
        "records",
        "digest",
        "time",
        "public-key",
        "signature",
    ]
    cp = parse_checkpoint(text)
    assert (cp.position, cp.records, cp.digest, cp.time) == (1234, 1230, "3f" * 32, AT)
    assert cp.anchor == (1234, "3f" * 32)
    assert cp.public_key == public_key_hex(key) and len(cp.signature) == 128
    assert cp.signed == text[: text.index("signature: ")].encode("utf-8")
    check_signature(cp)
    check_signature(cp, public_key_hex(key))
    check_signature(cp, ["00" * 32, public_key_hex(key).upper()])  # any trusted key will do
    # Kept in a file, copied through a system that changed the line endings:
    kept = key_file.parent / "checkpoint.txt"
    kept.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    assert read_checkpoint(kept) == cp
    check_signature(read_checkpoint(kept), public_key_hex(key))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("position", "1235"),
        ("records", "1229"),
        ("digest", "4f" * 32),
        ("time", "2026-12-01T22:00:01+00:00"),
        ("time", "2026-12-02T06:00:00+08:00"),  # the same instant, written differently
        ("public-key", public_key_hex(Ed25519PrivateKey.generate())),
        ("signature", "00" * 64),
    ],
)
def test_any_changed_field_fails_the_signature(key: str, value: str) -> None:
    changed = parse_checkpoint(with_line(VALID, key, value))  # still well formed
    with pytest.raises(InvalidInput, match="signature does not verify"):
        check_signature(changed)


def test_a_flipped_signature_digit_fails() -> None:
    cp = parse_checkpoint(VALID)
    flipped = ("0" if cp.signature[5] != "0" else "1").join((cp.signature[:5], cp.signature[6:]))
    with pytest.raises(InvalidInput, match="signature does not verify"):
        check_signature(replace(cp, signature=flipped))


def test_a_checkpoint_re_signed_by_another_key_fails_against_the_expected_key() -> None:
    forger = Ed25519PrivateKey.generate()
    forged = parse_checkpoint(make_checkpoint(HEAD._replace(digest="4f" * 32), AT, forger))
    check_signature(forged)  # well signed, by whoever wrote it...
    with pytest.raises(InvalidInput, match=f"signed by public key {public_key_hex(forger)}"):
        check_signature(forged, public_key_hex(SIGNER))  # ...but not by the auditor's key
    with pytest.raises(InvalidInput, match="any of the 2 expected keys"):
        check_signature(forged, [public_key_hex(SIGNER), "11" * 32])


def test_an_expected_public_key_that_is_not_hex_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not 64 hex digits"):
        check_signature(parse_checkpoint(VALID), "not-a-key")


def test_an_empty_or_inconsistent_head_is_not_checkpointed() -> None:
    with pytest.raises(InvalidInput, match="the log is empty"):
        make_checkpoint(LogHead(0, 0, "00" * 32), AT, SIGNER)
    with pytest.raises(InvalidInput, match="inconsistent"):
        make_checkpoint(LogHead(5, 6, "00" * 32), AT, SIGNER)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        make_checkpoint(HEAD, AT.replace(tzinfo=None), SIGNER)


def _bad_variants() -> list[tuple[str, str | bytes, str]]:
    v = VALID
    signature_line = lines_of(v)[-1]
    return [
        ("empty", "", "empty"),
        ("blank lines", "\n\n\n", "empty"),
        ("another text", "hello\n", "line 1: 'hello' is not"),
        ("newer format", v.replace(HEADER, "escalation checkpoint 2"), "cannot read"),
        ("header only", HEADER + "\n", "missing 'position'"),
        ("missing field", v.replace("records: 1230\n", ""), "missing 'records'"),
        ("missing signature", v.replace(signature_line + "\n", ""), "missing 'signature'"),
        ("duplicate", v.replace("records: 1230\n", "records: 1230\nrecords: 1230\n"), "line 4"),
        ("unknown key", v.replace("time:", "when:"), "line 5: unknown key 'when'"),
        ("not key: value", v.replace("digest: ", "digest="), "line 4: .* is not 'key: value'"),
        ("blank line inside", v.replace("records", "\nrecords"), "line 3: '' is not"),
        ("after the signature", v + "note: x\n", "line 8: nothing may follow"),
        ("negative", with_line(v, "position", "-5"), "line 2: position '-5'"),
        ("plus sign", with_line(v, "position", "+5"), "line 2: position"),
        ("underscore", with_line(v, "position", "1_234"), "line 2: position"),
        ("leading zero", with_line(v, "position", "01234"), "leading zeros"),
        ("arabic digits", with_line(v, "position", "١٢٣٤"), "line 2: position"),
        ("zero", with_line(v, "position", "0"), "line 2: position must be"),
        ("too big", with_line(v, "position", "9" * 19), "line 2: position must be"),
        ("records past position", with_line(v, "records", "1235"), "line 3: records must"),
        ("short digest", with_line(v, "digest", "3f" * 31), "line 4: digest"),
        ("upper-case digest", with_line(v, "digest", "3F" * 32), "line 4: digest"),
        ("not hex", with_line(v, "digest", "zz" * 32), "line 4: digest"),
        ("trailing space", with_line(v, "digest", "3f" * 32 + " "), "line 4: digest"),
        ("naive time", with_line(v, "time", "2026-12-01T22:00:00"), "line 5: .*timezone"),
        ("no time", with_line(v, "time", "yesterday"), "line 5: time 'yesterday'"),
        ("short key", with_line(v, "public-key", "ab"), "line 6: public-key"),
        ("short signature", with_line(v, "signature", "ab" * 63), "line 7: signature"),
        ("not UTF-8", v.encode() + b"\xff\xfe\n", "line 8: not UTF-8"),
        ("lone surrogate", v.replace("digest", "\udcffdigest"), "line 4: not UTF-8"),
        ("too large", v + "x" * MAX_CHECKPOINT_BYTES, "more than a checkpoint's"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [(t, m) for _, t, m in _bad_variants()],
    ids=[n for n, _, _ in _bad_variants()],
)
def test_a_checkpoint_that_does_not_parse_says_where(text: str | bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_checkpoint(text)


def test_a_checkpoint_file_that_is_missing_or_not_one(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not found"):
        read_checkpoint(tmp_path / "nowhere.txt")
    with pytest.raises(InvalidInput, match="is a directory"):
        read_checkpoint(tmp_path)
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (MAX_CHECKPOINT_BYTES + 1))
    with pytest.raises(InvalidInput, match="larger than"):
        read_checkpoint(big)
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    with pytest.raises(InvalidInput, match=r"checkpoint file .*photo\.jpg: line 1: not UTF-8"):
        read_checkpoint(image)


def _mutated() -> st.SearchStrategy[str | bytes]:
    """Arbitrary text, and the valid text with a piece cut out or something put in."""
    cut = st.tuples(st.integers(0, len(VALID)), st.integers(0, 40)).map(
        lambda t: VALID[: t[0]] + VALID[t[0] + t[1] :]
    )
    put = st.tuples(st.integers(0, len(VALID)), st.text(max_size=20)).map(
        lambda t: VALID[: t[0]] + t[1] + VALID[t[0] :]
    )
    return st.one_of(st.text(max_size=400), st.binary(max_size=400), cut, put)


@given(_mutated())
@settings(max_examples=400, deadline=None)
def test_parse_only_ever_returns_or_raises_invalid_input(text: str | bytes) -> None:
    try:
        cp = parse_checkpoint(text)
    except InvalidInput as exc:
        assert str(exc).startswith("checkpoint: ")
        return
    assert isinstance(cp, Checkpoint)
    try:
        check_signature(cp)
    except InvalidInput:
        return
    # Whatever still verifies says exactly what was signed.
    assert (cp.position, cp.records, cp.digest) == tuple(HEAD)


# ------------------------------------------------------------------- keys


def test_a_new_key_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    key = create_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_key_hex(load_private_key(path)) == public_key_hex(key)
    assert re.fullmatch(r"[0-9a-f]{64}", public_key_hex(key))
    before = path.read_bytes()
    with pytest.raises(InvalidInput, match="exists; refusing to overwrite"):
        create_key(path)
    assert path.read_bytes() == before
    with pytest.raises(InvalidInput, match="cannot create"):
        create_key(tmp_path / "no-such-dir" / "k.pem")


def _pem(key: object, encryption: serialization.KeySerializationEncryption | None = None) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),
    )


def _bad_keys() -> list[tuple[str, bytes, str]]:
    good = _pem(Ed25519PrivateKey.generate())
    body = good.splitlines()[1]
    return [
        ("empty", b"", "not a PEM private key"),
        ("text", b"my signing key is in the safe\n", "not a PEM private key"),
        ("binary", bytes(range(256)), "not a PEM private key"),
        ("truncated", good[: len(good) // 2], "corrupt or truncated"),
        ("bad base64", good.replace(body, b"!!" + body[2:]), "corrupt or truncated"),
        ("not a key inside", good.replace(body, b"AAAA" + body[4:]), "corrupt or truncated"),
        (
            "RSA",
            _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            r"holds an RSA \(2048-bit\) key; checkpoints are signed with Ed25519",
        ),
        ("EC", _pem(ec.generate_private_key(ec.SECP256R1())), r"holds an EC \(secp256r1\) key"),
        ("Ed448", _pem(ed448.Ed448PrivateKey.generate()), "holds an Ed448 key"),
        (
            "encrypted",
            _pem(
                Ed25519PrivateKey.generate(), serialization.BestAvailableEncryption(b"secret pass")
            ),
            "encrypted with a password",
        ),
        (
            "public key",
            Ed25519PrivateKey.generate()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            "holds a public key",
        ),
        (
            "OpenSSH",
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            ),
            "is an OpenSSH key",
        ),
        ("huge", b"-----BEGIN PRIVATE KEY-----\n" + b"A" * 20_000, "larger than"),
    ]


@pytest.mark.parametrize(
    ("content", "message"), [(c, m) for _, c, m in _bad_keys()], ids=[n for n, _, _ in _bad_keys()]
)
def test_a_wrong_or_corrupt_key_is_named_and_never_echoed(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message) as caught:
        load_private_key(path)
    text = str(caught.value)
    assert str(path) in text
    assert "BEGIN" not in text and not re.search(r"[A-Za-z0-9+/]{24}", text)  # no key material


def test_a_missing_or_unreadable_key_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"signing key file .*absent\.pem not found"):
        load_private_key(tmp_path / "absent.pem")
    with pytest.raises(InvalidInput, match="is a directory"):
        load_private_key(tmp_path)


@given(st.binary(max_size=600) | st.binary(max_size=300).map(lambda b: _pem_frame(b)))  # noqa: PLW0108 - defined below
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_key_file_content_loads_or_raises_invalid_input(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "key.pem"
        path.write_bytes(content)
        with contextlib.suppress(InvalidInput):
            load_private_key(path)  # or an InvalidInput; nothing else


def _pem_frame(body: bytes) -> bytes:
    return (
        b"-----BEGIN PRIVATE KEY-----\n" + base64.encodebytes(body) + b"-----END PRIVATE KEY-----\n"
    )


# -------------------------------------------------------------------- CLI


def write_history(path: Path, summary: str, disputes: int = 4, start: int = 0) -> None:
    """A store of ``disputes`` receipts (the same events whatever the summary says)."""
    rules = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    with EscalationEngine(rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        for i in range(start, start + disputes):
            engine.receive(
                unit="c11",
                category="neighbour",
                source="walk_in",
                summary=f"{summary} {i}",
                parties=2,
                received_at=T0 + hours(i),
            )
        engine.catch_up()


def head_of(path: Path) -> LogHead:
    rules = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    with EscalationEngine(rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        return read_head(engine.store)


def invoke(db: Path, *args: str, code: int = 0) -> tuple[str, str]:
    """Run the CLI on ``db``: (stdout, everything shown)."""
    rules = db.parent / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    result = runner.invoke(app, [*args, "--db", f"sqlite:///{db}", "--rules", str(rules)])
    assert result.exit_code == code, (result.output, result.exception)
    return result.stdout, result.output


def failure(db: Path, *args: str) -> EscalationError:
    rules = db.parent / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    result = runner.invoke(app, [*args, "--db", f"sqlite:///{db}", "--rules", str(rules)])
    assert isinstance(result.exception, EscalationError), (result.output, result.exception)
    return result.exception


def keys(*args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, ["keys", *args])
    return result.exit_code, result.stdout, result.exception


def fingerprint(db: Path) -> tuple[str, ...]:
    """The bytes of the store's files (a write of any kind changes them)."""
    files = sorted(db.parent.glob(db.name + "*"))
    return tuple(f"{f.name}:{hashlib.sha256(f.read_bytes()).hexdigest()}" for f in files)


def test_keys_create_and_show(tmp_path: Path) -> None:
    path = tmp_path / "auditor.pem"
    code, out, _ = keys("create", str(path))
    assert code == 0 and path.stat().st_mode & 0o777 == 0o600
    public = public_key_hex(load_private_key(path))
    assert public in out and "PRIVATE" not in out
    code, out, _ = keys("show", str(path))
    assert (code, out) == (0, public + "\n")
    before = path.read_bytes()
    code, _, exc = keys("create", str(path))
    assert isinstance(exc, InvalidInput) and "refusing to overwrite" in str(exc)
    assert path.read_bytes() == before
    corrupt = tmp_path / "corrupt.pem"
    corrupt.write_bytes(before[:40] + before[60:])
    code, out, exc = keys("show", str(corrupt))
    assert isinstance(exc, InvalidInput) and "corrupt or truncated" in str(exc)
    assert out == "" and before.decode().splitlines()[1] not in str(exc)


def test_a_checkpoint_is_extended_by_more_events_but_not_by_a_rewritten_log(
    tmp_path: Path, key_file: Path
) -> None:
    db = tmp_path / "kept.db"
    write_history(db, "漏水")
    kept = tmp_path / "checkpoint.txt"
    out, shown = invoke(db, "checkpoint", "--sign", str(key_file), "--out", str(kept))
    assert out == kept.read_text(encoding="utf-8")  # stdout is the checkpoint, nothing else
    assert "keep it outside the database" in shown
    cp = parse_checkpoint(out)
    check_signature(cp, public_key_hex(load_private_key(key_file)))
    assert cp.anchor == (head_of(db).position, head_of(db).digest)
    public = public_key_hex(load_private_key(key_file))

    _, shown = invoke(db, "verify", "--checkpoint", str(kept), "--public-key", public)
    assert f"the log extends checkpoint {kept}" in shown

    write_history(db, "噪音", disputes=3, start=10)  # the log grows
    assert head_of(db).position > cp.position
    _, shown = invoke(db, "verify", "--checkpoint", str(kept), "--public-key", public)
    assert f"the log extends checkpoint {kept}" in shown

    # A whole-log rewrite: a different history of the same length, every hash,
    # chain and head inside the database recomputed. Its own verify passes...
    forged = tmp_path / "forged.db"
    write_history(forged, "漏水 (rewritten)")
    assert (head_of(forged).position, head_of(forged).records) == (cp.position, cp.records)
    assert head_of(forged).digest != cp.digest
    _, shown = invoke(forged, "verify")
    assert "ok:" in shown
    # ...the kept checkpoint does not.
    _, shown = invoke(forged, "verify", "--checkpoint", str(kept), code=1)
    assert f"the log does NOT extend checkpoint {kept}" in shown
    assert "rewritten, removed or inserted" in shown

    shorter = tmp_path / "shorter.db"
    write_history(shorter, "漏水", disputes=2)
    _, shown = invoke(shorter, "verify", "--checkpoint", str(kept), code=1)
    assert "does NOT extend" in shown and "before it: rows were removed" in shown


def test_an_edited_row_fails_the_kept_checkpoint(tmp_path: Path, key_file: Path) -> None:
    db = tmp_path / "kept.db"
    write_history(db, "leak")
    kept = tmp_path / "checkpoint.txt"
    invoke(db, "checkpoint", "--sign", str(key_file), "--out", str(kept))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, state FROM escalation_events ORDER BY id").fetchall()
        # The second receipt's head count (its summary is sealed: not plain bytes to edit).
        rowid, state = [(i, bytes(s)) for i, s in rows if b'"parties":2' in bytes(s)][1]
        edited = state.replace(b'"parties":2', b'"parties":9')
        conn.execute("UPDATE escalation_events SET state = ? WHERE id = ?", (edited, rowid))
    conn.close()
    _, shown = invoke(db, "verify", "--checkpoint", str(kept), code=1)
    assert "does NOT extend" in shown


def test_checkpoint_and_verify_write_nothing_to_the_database(
    tmp_path: Path, key_file: Path
) -> None:
    db = tmp_path / "kept.db"
    write_history(db, "漏水")
    before = fingerprint(db)
    kept = tmp_path / "checkpoint.txt"
    invoke(db, "checkpoint", "--sign", str(key_file), "--out", str(kept))
    assert fingerprint(db) == before
    invoke(db, "verify", "--checkpoint", str(kept))
    assert fingerprint(db) == before


def test_a_different_signer_is_refused_before_the_database_is_read(
    tmp_path: Path, key_file: Path
) -> None:
    db = tmp_path / "kept.db"
    write_history(db, "漏水")
    kept = tmp_path / "checkpoint.txt"
    invoke(db, "checkpoint", "--sign", str(key_file), "--out", str(kept))
    other = tmp_path / "other.pem"
    create_key(other)
    exc = failure(
        db,
        "verify",
        "--checkpoint",
        str(kept),
        "--public-key",
        public_key_hex(load_private_key(other)),
    )
    assert isinstance(exc, InvalidInput) and "signed by public key" in str(exc)
    tampered = tmp_path / "tampered.txt"
    tampered.write_text(with_line(kept.read_text(), "digest", "0" * 64), encoding="utf-8")
    nowhere = tmp_path / "nowhere.db"
    exc = failure(nowhere, "verify", "--checkpoint", str(tampered))
    assert isinstance(exc, InvalidInput) and "signature does not verify" in str(exc)
    assert str(tampered) in str(exc)
    garbled = tmp_path / "garbled.txt"
    garbled.write_text(kept.read_text().replace("records:", "recs:"), encoding="utf-8")
    exc = failure(nowhere, "verify", "--checkpoint", str(garbled))
    assert isinstance(exc, InvalidInput) and "line 3: unknown key 'recs'" in str(exc)
    assert not nowhere.exists()  # refused before any database was opened
    exc = failure(db, "verify", "--public-key", "00" * 32)
    assert isinstance(exc, InvalidInput) and "--checkpoint" in str(exc)


def test_checkpoint_errors_write_nothing(tmp_path: Path, key_file: Path) -> None:
    db = tmp_path / "kept.db"
    write_history(db, "漏水")
    before = fingerprint(db)
    rsa_key = tmp_path / "rsa.pem"
    rsa_key.write_bytes(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    out = tmp_path / "cp.txt"
    exc = failure(db, "checkpoint", "--sign", str(rsa_key), "--out", str(out))
    assert isinstance(exc, InvalidInput) and "holds an RSA (2048-bit) key" in str(exc)
    exc = failure(db, "checkpoint", "--sign", str(tmp_path / "absent.pem"), "--out", str(out))
    assert isinstance(exc, InvalidInput) and "not found" in str(exc)
    assert not out.exists()
    out.write_text("an earlier checkpoint\n", encoding="utf-8")
    exc = failure(db, "checkpoint", "--sign", str(key_file), "--out", str(out))
    assert isinstance(exc, InvalidInput) and "refusing to overwrite" in str(exc)
    assert out.read_text(encoding="utf-8") == "an earlier checkpoint\n"
    assert fingerprint(db) == before
    nowhere = tmp_path / "nowhere.db"
    exc = failure(nowhere, "checkpoint", "--sign", str(key_file))
    assert isinstance(exc, StorageError) and "no store at" in str(exc)
    assert not nowhere.exists()
