"""The ``member`` record: a desk member as the command line and imports give it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints, field_validator

from incident_ledger.ledger.desk_roles import Role
from incident_ledger.ledger.records import Lax, RecordBase, RecordId

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class MemberRecord(RecordBase):
    """A desk member: who they are, what they may do, and the key that signs their work."""

    type: Literal["member"] = "member"
    id: RecordId
    name: Name
    role: Lax[Role]
    public_key: Annotated[str, StringConstraints(min_length=1, max_length=400)]

    @field_validator("public_key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        from incident_ledger.ledger.signednote import NoteError, check_verifier_key

        try:
            check_verifier_key(value)
        except NoteError as error:
            raise ValueError(f"not an Ed25519 verifier key: {error}") from None
        return value
