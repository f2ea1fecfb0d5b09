"""Tests for ledger.signednote: C2SP signed notes (Ed25519) and tlog checkpoint bodies."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.signednote import (
    CheckpointError,
    NoteError,
    format_checkpoint,
    generate_signer,
    open_note,
    parse_checkpoint,
    sign_note,
)

# Known answers from golang.org/x/mod/sumdb/note (note.go package docs and note_test.go).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotp"
    "RZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox3"
    "3WWd1RvMc+QQ=\n"
)
PETER_NOTE = TEXT + "\n" + PETER_SIG

SKEY, VKEY = generate_signer("example.com/ledger")
OTHER_SKEY, OTHER_VKEY = generate_signer("example.com/other")


# --- known answers ---------------------------------------------------------------------------


def test_known_answer_sign() -> None:
    assert sign_note(TEXT, PETER_SKEY) == PETER_NOTE


def test_known_answer_open() -> None:
    assert open_note(PETER_NOTE, [PETER_VKEY]) == (TEXT, ["PeterNeumann"])


def test_known_answer_two_signers() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [PETER_VKEY, ENOCH_VKEY]) == (TEXT, ["PeterNeumann", "EnochRoot"])
    assert open_note(note, [ENOCH_VKEY]) == (TEXT, ["EnochRoot"])
    assert open_note(note, [PETER_VKEY]) == (TEXT, ["PeterNeumann"])  # unknown Enoch ignored


def test_known_answer_key_hash_formula() -> None:
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])[1:]
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_hash = hashlib.sha256(b"PeterNeumann\n\x01" + raw).digest()[:4]
    encoded = base64.b64encode(b"\x01" + raw).decode()
    assert f"PeterNeumann+{key_hash.hex()}+{encoded}" == PETER_VKEY


# --- round trips -----------------------------------------------------------------------------


def test_generate_signer_key_shapes() -> None:
    assert SKEY.startswith("PRIVATE+KEY+example.com/ledger+")
    name, key_hash, key = VKEY.split("+", 2)
    assert name == "example.com/ledger"
    assert len(key_hash) == 8
    assert base64.b64decode(key)[0] == 1
    assert SKEY.split("+")[3] == key_hash


@pytest.mark.parametrize("text", ["\n", "one line\n", "a\n\nb\n", "trailing blank\n\n", "ünï ✓\n"])
def test_round_trip(text: str) -> None:
    assert open_note(sign_note(text, SKEY), [VKEY]) == (text, ["example.com/ledger"])


def test_round_trip_cosigned() -> None:
    note = sign_note("cosigned\n", SKEY) + sign_note("cosigned\n", OTHER_SKEY).split("\n\n")[1]
    assert open_note(note, [VKEY, OTHER_VKEY])[1] == ["example.com/ledger", "example.com/other"]
    assert open_note(note, [OTHER_VKEY])[1] == ["example.com/other"]


NOTE_TEXT = st.text(
    st.characters(min_codepoint=0x20, exclude_categories=["Cs"]) | st.just("\n"), max_size=200
).map(lambda text: text + "\n")


@settings(max_examples=50, deadline=None)
@given(NOTE_TEXT)
def test_round_trip_any_text(text: str) -> None:
    assert open_note(sign_note(text, SKEY), [VKEY]) == (text, ["example.com/ledger"])


@settings(max_examples=50, deadline=None)
@given(NOTE_TEXT, st.data())
def test_any_edit_of_the_text_is_rejected(text: str, data: st.DataObject) -> None:
    editable = [i for i, c in enumerate(text) if c != "\n"]  # newlines frame the signatures
    if not editable:
        return
    position = data.draw(st.sampled_from(editable), label="position")
    replacement = "Y" if text[position] == "X" else "X"
    note = sign_note(text, SKEY)
    edited = note[:position] + replacement + note[position + 1 :]
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(edited, [VKEY])


# --- rejections ------------------------------------------------------------------------------


def test_edited_byte_in_text_is_rejected() -> None:
    edited = PETER_NOTE.replace("cryptography", "cryptographY")
    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann"):
        open_note(edited, [PETER_VKEY])


def test_note_signed_only_by_unknown_key_is_rejected() -> None:
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(PETER_NOTE, [ENOCH_VKEY])
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(PETER_NOTE, [])


def test_same_name_other_key_is_unknown() -> None:
    _, impostor_vkey = generate_signer("PeterNeumann")
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(PETER_NOTE, [impostor_vkey])


def test_bad_signature_from_known_key_is_rejected() -> None:
    bad_sig = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]  # from note_test.go
    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann\\+c74f20a3"):
        open_note(TEXT + "\n" + bad_sig, [PETER_VKEY])
    # A valid signature from another known key does not excuse it.
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(TEXT + "\n" + ENOCH_SIG + bad_sig, [PETER_VKEY, ENOCH_VKEY])
    # Nor does a valid signature from the same key.
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(TEXT + "\n" + PETER_SIG + bad_sig, [PETER_VKEY])


def test_bad_signature_from_unknown_key_is_ignored() -> None:
    bad_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    assert open_note(TEXT + "\n" + PETER_SIG + bad_enoch, [PETER_VKEY])[1] == ["PeterNeumann"]


@pytest.mark.parametrize(
    "note",
    [
        # The malformed messages of note_test.go ("\xff" becomes a lone surrogate in a str).
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + PETER_NOTE,
        "\udcff" + PETER_NOTE,
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
        PETER_NOTE + "Unexpected line.\n",
        # More of the same.
        PETER_NOTE.replace("— ", "- "),
        PETER_NOTE.replace("— ", "—"),
        PETER_NOTE.replace("PeterNeumann ", "PeterNeumann  "),
        PETER_NOTE.replace("PeterNeumann ", "PeterNeumann+x "),
        PETER_NOTE.replace("PeterNeumann ", "PeterNeumann"),
        PETER_NOTE.replace("PeterNeumann x08g", "PeterNeumann x08g!"),
        PETER_NOTE.replace("M=\n", "M\n"),  # unpadded base64
        PETER_NOTE.replace("M=\n", "N=\n"),  # non-canonical base64
        TEXT + "\n— PeterNeumann " + base64.b64encode(bytes.fromhex("c74f20a3")).decode() + "\n",
        TEXT + "\n" + PETER_SIG + "\n",
        TEXT.replace("\n", "\r\n") + "\n" + PETER_SIG,
        TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes_are_rejected(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, [PETER_VKEY])


def test_up_to_a_hundred_signatures_are_accepted() -> None:
    assert open_note(TEXT + "\n" + PETER_SIG * 100, [PETER_VKEY]) == (TEXT, ["PeterNeumann"])


def _manglings(key: str) -> list[str]:
    """Every proper substring and every one-character increment, as in note_test.go."""
    out = {key[i:j] for i in range(len(key) + 1) for j in range(i, len(key) + 1)} - {key}
    out |= {key[:i] + chr(ord(c) + 1) + key[i + 1 :] for i, c in enumerate(key)}
    return sorted(out)


def test_mangled_verifier_keys_are_rejected() -> None:
    for bad in [
        *_manglings(PETER_VKEY),
        # From note_test.go: wrong key length and unknown algorithm, each with a matching hash.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ]:
        with pytest.raises(NoteError, match="verifier key"):
            open_note(PETER_NOTE, [bad])


def test_mangled_signer_keys_are_rejected() -> None:
    for bad in _manglings(PETER_SKEY):
        with pytest.raises(NoteError, match="signer key"):
            sign_note(TEXT, bad)


def test_verifier_keys_must_be_a_sequence_of_strings() -> None:
    with pytest.raises(TypeError):
        open_note(PETER_NOTE, PETER_VKEY)


@pytest.mark.parametrize("text", ["", "no newline", "tab\there\n", "cr\r\n", "\udc80\n"])
def test_sign_rejects_text_that_cannot_be_a_note(text: str) -> None:
    with pytest.raises(NoteError):
        sign_note(text, SKEY)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u2003b", "a\nb", "tab\t", "\udc80"])
def test_generate_signer_rejects_bad_names(name: str) -> None:
    with pytest.raises(NoteError):
        generate_signer(name)


# --- checkpoints -----------------------------------------------------------------------------

ROOT = hashlib.sha256(b"root").digest()


@pytest.mark.parametrize("size", [0, 1, 20852163, 2**64 - 1])
def test_checkpoint_round_trip(size: int) -> None:
    text = format_checkpoint("example.com/log", size, ROOT)
    assert text == f"example.com/log\n{size}\n{base64.b64encode(ROOT).decode()}\n"
    assert parse_checkpoint(text) == ("example.com/log", size, ROOT)


def test_checkpoint_c2sp_example() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    origin, size, root = parse_checkpoint(text)
    assert (origin, size) == ("example.com/behind-the-sofa", 20852163)
    assert root.hex().startswith("0ac5186a91863e8e1d90c8080")


def test_checkpoint_extension_lines_are_ignored() -> None:
    text = format_checkpoint("o", 5, ROOT) + "ext one\next two\n"
    assert parse_checkpoint(text) == ("o", 5, ROOT)


def test_signed_checkpoint_end_to_end() -> None:
    note = sign_note(format_checkpoint("example.com/ledger", 42, ROOT), SKEY)
    text, names = open_note(note, [VKEY])
    assert names == ["example.com/ledger"]
    assert parse_checkpoint(text) == ("example.com/ledger", 42, ROOT)


_B64_ROOT = base64.b64encode(ROOT).decode()
_URLSAFE_ROOT = base64.urlsafe_b64encode(b"\xff" * 32).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"o\n7\n{_B64_ROOT}",  # no final newline
        "o\n7\n",  # no root line
        f"\n7\n{_B64_ROOT}\n",  # empty origin
        f"o\n07\n{_B64_ROOT}\n",  # leading zero
        f"o\n00\n{_B64_ROOT}\n",
        f"o\n\n{_B64_ROOT}\n",
        f"o\n+7\n{_B64_ROOT}\n",
        f"o\n-7\n{_B64_ROOT}\n",
        f"o\n 7\n{_B64_ROOT}\n",
        f"o\n7 \n{_B64_ROOT}\n",
        f"o\n7.0\n{_B64_ROOT}\n",
        f"o\n1_000\n{_B64_ROOT}\n",
        f"o\n\u0667\n{_B64_ROOT}\n",  # ARABIC-INDIC DIGIT SEVEN
        f"o\n{2**64}\n{_B64_ROOT}\n",
        f"o\n7\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"o\n7\n{base64.b64encode(ROOT + b'x').decode()}\n",
        f"o\n7\n{_B64_ROOT.rstrip('=')}\n",
        f"o\n7\n{_B64_ROOT[:-2]}B=\n",  # non-canonical final character
        f"o\n7\n{_URLSAFE_ROOT}\n",
        f"o\n7\n{_B64_ROOT}\n\n",  # empty extension line
        f"o\n7\n{_B64_ROOT}\next\n\n",
        f"o\r\n7\n{_B64_ROOT}\n",
    ],
)
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [("", 1, ROOT), ("a\nb", 1, ROOT), ("o", -1, ROOT), ("o", 2**64, ROOT), ("o", 1, ROOT[:31])],
)
def test_format_checkpoint_rejects_bad_fields(origin: str, size: int, root: bytes) -> None:
    with pytest.raises(CheckpointError):
        format_checkpoint(origin, size, root)


def test_checkpoint_random_roots_round_trip() -> None:
    for _ in range(20):
        root = os.urandom(32)
        assert parse_checkpoint(format_checkpoint("o", 3, root))[2] == root
