"""C2SP signed notes with Ed25519 keys, and the tlog checkpoint note body.

Formats follow https://c2sp.org/signed-note and https://c2sp.org/tlog-checkpoint, with the
key encodings of golang.org/x/mod/sumdb/note:

- key hash: the first 4 bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ 32-byte public key);
- verifier key: ``<name>+<hex key hash>+<base64(0x01 ‖ public key)>``;
- signer key: ``PRIVATE+KEY+<name>+<hex key hash>+<base64(0x01 ‖ 32-byte seed)>``;
- note: text ending in "\\n", a blank line, then lines
  ``— <name> <base64(key hash ‖ signature)>\\n`` (U+2014 EM DASH, space), each signature
  being over the text bytes exactly.

Base64 is the standard alphabet with padding and is decoded strictly: a value must be the
canonical encoding of its bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
MAX_SIGNATURES = 100
_SIG_PREFIX = "— "
_MAX_TREE_SIZE = 2**64 - 1
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")


class NoteError(ValueError):
    """A signed note or key is malformed, or its signatures do not check out."""


class CheckpointError(ValueError):
    """A checkpoint body is malformed."""


def generate_signer(name: str) -> tuple[str, str]:
    """Generate a fresh Ed25519 key for `name`; return (signer key, verifier key) strings."""
    _check_name(name)
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_hash = _key_hash(name, public)
    signer = f"PRIVATE+KEY+{name}+{key_hash.hex()}+{_b64(bytes([ALG_ED25519]) + seed)}"
    verifier = f"{name}+{key_hash.hex()}+{_b64(bytes([ALG_ED25519]) + public)}"
    return signer, verifier


def verifier_from_signer(signer_key: str) -> str:
    """The verifier key string that belongs to a signer key string."""
    name, key_hash, private = _parse_signer_key(signer_key)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return f"{name}+{key_hash.hex()}+{_b64(bytes([ALG_ED25519]) + public)}"


def sign_note(text: str, signer_key: str) -> str:
    """Return `text` signed with `signer_key` as a C2SP signed note.

    The text must end in a newline and, like the whole note, must be valid UTF-8 without
    ASCII control characters other than newline (otherwise no verifier would open it).
    """
    name, key_hash, private = _parse_signer_key(signer_key)
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    text_bytes = _note_bytes(text, "note text")
    signature = private.sign(text_bytes)
    return f"{text}\n{_SIG_PREFIX}{name} {_b64(key_hash + signature)}\n"


def check_verifier_key(vkey: str) -> None:
    """Raise NoteError unless ``vkey`` is a well-formed Ed25519 verifier key."""
    _parse_verifier_key(vkey)


def open_note(note: str, verifier_keys: Sequence[str]) -> tuple[str, list[str]]:
    """Verify a signed note; return its text and the names of the keys that signed it.

    Signatures from unknown keys (name and key hash not both matching a verifier key) are
    ignored. Every signature from a known key must verify, and at least one must be present.
    """
    known = _parse_verifier_keys(verifier_keys)
    _note_bytes(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, sig_block = note[: split + 1], note[split + 2 :]
    if not sig_block.endswith("\n"):
        raise NoteError("malformed note: signature block must end with a newline")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    text_bytes = text.encode("utf-8")
    verified: list[str] = []
    for line in lines:
        name, key_hash, signature = _parse_signature_line(line)
        public = known.get((name, key_hash))
        if public is None:
            continue
        try:
            public.verify(signature, text_bytes)
        except InvalidSignature:
            raise NoteError(f"invalid signature for key {name}+{key_hash.hex()}") from None
        if name not in verified:
            verified.append(name)
    if not verified:
        raise NoteError("note has no verifiable signatures from known keys")
    return text, verified


def format_checkpoint(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    """Return the tlog checkpoint note text ``<origin>\\n<size>\\n<base64 root>\\n``,
    followed by the extension lines given (each non-empty, one line, no control
    characters), which verifiers that do not know them ignore."""
    _check_origin(origin)
    if not 0 <= size <= _MAX_TREE_SIZE:
        raise CheckpointError(f"tree size out of range: {size}")
    if len(root) != 32:
        raise CheckpointError(f"root hash must be 32 bytes, got {len(root)}")
    for line in extensions:
        if not line or any(c < " " for c in line):
            raise CheckpointError(f"malformed checkpoint extension line: {line!r}")
    return "".join(f"{line}\n" for line in (origin, str(size), _b64(root), *extensions))


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    """Parse a tlog checkpoint note text into (origin, tree size, root hash).

    Extension lines after the root hash are allowed (they must be non-empty) and ignored
    here (``checkpoint_extensions`` reads them).
    """
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, tree size and root hash lines")
    origin, size_line, root_line = lines[:3]
    _check_origin(origin)
    if "" in lines[3:]:
        raise CheckpointError("checkpoint extension lines must be non-empty")
    if not _TREE_SIZE.fullmatch(size_line) or int(size_line) > _MAX_TREE_SIZE:
        raise CheckpointError(f"malformed tree size: {size_line!r}")
    try:
        root = _b64decode(root_line)
    except ValueError:
        raise CheckpointError(f"malformed root hash: {root_line!r}") from None
    if len(root) != 32:
        raise CheckpointError(f"root hash must be 32 bytes, got {len(root)}")
    return origin, int(size_line), root


def checkpoint_extensions(text: str) -> list[str]:
    """The extension lines of a checkpoint note text (after its root hash), once the text
    parses as a checkpoint."""
    parse_checkpoint(text)
    return text[:-1].split("\n")[3:]


def _parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    """Split ``— <name> <base64>`` into (name, 4-byte key hash, signature)."""
    if not line.startswith(_SIG_PREFIX):
        raise NoteError(f"malformed note: not a signature line: {line!r}")
    name, _, encoded = line[len(_SIG_PREFIX) :].partition(" ")
    try:
        _check_name(name)
        raw = _b64decode(encoded)
    except ValueError:
        raise NoteError(f"malformed note: bad signature line: {line!r}") from None
    if len(raw) < 5:
        raise NoteError(f"malformed note: signature too short: {line!r}")
    return name, raw[:4], raw[4:]


def _parse_verifier_keys(verifier_keys: Sequence[str]) -> dict[tuple[str, bytes], Ed25519PublicKey]:
    if isinstance(verifier_keys, str):
        raise TypeError("verifier_keys must be a sequence of key strings, not one string")
    known: dict[tuple[str, bytes], Ed25519PublicKey] = {}
    raw_keys: dict[tuple[str, bytes], bytes] = {}
    for vkey in verifier_keys:
        name, key_hash, raw = _parse_verifier_key(vkey)
        if raw_keys.setdefault((name, key_hash), raw) != raw:
            raise NoteError(f"ambiguous verifier keys for {name}+{key_hash.hex()}")
        known[(name, key_hash)] = Ed25519PublicKey.from_public_bytes(raw)
    return known


def _parse_verifier_key(vkey: str) -> tuple[str, bytes, bytes]:
    """Parse ``<name>+<hex8>+<base64(0x01 ‖ key)>`` into (name, key hash, raw public key)."""
    name, key_hash, public = _split_key(vkey, "verifier", vkey)
    _check_key_hash(name, key_hash, public, "verifier", vkey)
    return name, key_hash, public


def _parse_signer_key(skey: str) -> tuple[str, bytes, Ed25519PrivateKey]:
    """Parse ``PRIVATE+KEY+<name>+<hex8>+<base64(0x01 ‖ seed)>``."""
    prefix = "PRIVATE+KEY+"
    if not skey.startswith(prefix):
        raise NoteError("malformed signer key: must start with PRIVATE+KEY+")
    # The key itself is secret, so errors show only its name.
    name, key_hash, seed = _split_key(skey[len(prefix) :], "signer", "<signer key>")
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    _check_key_hash(name, key_hash, public, "signer", name)
    return name, key_hash, private


def _split_key(encoded: str, kind: str, shown: str) -> tuple[str, bytes, bytes]:
    """Split ``<name>+<hex8>+<base64(0x01 ‖ 32 bytes)>`` into (name, key hash, 32 bytes)."""
    name, _, rest = encoded.partition("+")
    hash_hex, _, key_b64 = rest.partition("+")
    try:
        _check_name(name)
        key = _b64decode(key_b64)
    except ValueError:
        raise NoteError(f"malformed {kind} key: {shown!r}") from None
    if not _HEX8.fullmatch(hash_hex):
        raise NoteError(f"malformed {kind} key hash: {shown!r}")
    if len(key) != 33 or key[0] != ALG_ED25519:
        raise NoteError(f"{kind} key is not a 32-byte Ed25519 key: {shown!r}")
    return name, bytes.fromhex(hash_hex), key[1:]


def _check_key_hash(name: str, key_hash: bytes, public: bytes, kind: str, shown: str) -> None:
    if key_hash != _key_hash(name, public):
        raise NoteError(f"{kind} key hash does not match its name and key: {shown!r}")


def _key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public).digest()[:4]


def _check_name(name: str) -> None:
    """Key names are non-empty UTF-8 without Unicode spaces, plus signs or control characters."""
    if not name:
        raise NoteError("key name must be non-empty")
    if "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name must not contain spaces or '+': {name!r}")
    _note_bytes(name, "key name")


def _check_origin(origin: str) -> None:
    if not origin:
        raise CheckpointError("checkpoint origin must be non-empty")
    if any(c < " " for c in origin):
        raise CheckpointError(f"checkpoint origin must not contain control characters: {origin!r}")


def _note_bytes(value: str, what: str) -> bytes:
    """Encode to UTF-8, rejecting what a signed note may not contain."""
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(f"{what} is not valid UTF-8") from None
    if any(c < " " and c != "\n" for c in value):
        raise NoteError(f"{what} contains an ASCII control character other than newline")
    return encoded


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(value: str) -> bytes:
    """Decode standard, padded, canonical base64; raise ValueError otherwise."""
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("invalid base64") from None
    if _b64(data) != value:
        raise ValueError("non-canonical base64")
    return data
