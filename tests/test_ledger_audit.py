"""The application's recorder, as the audit trail sees it, is found once per ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.stores.recorder import AuditRecorder


def test_the_audit_recorder_is_asked_for_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Ledger.audit`` does not ask the runtime protocol again at each use: its
    ``isinstance`` inspects the recorder's class every time (70 µs to 0.4 ms), and a
    small write used ``audit`` eight times."""
    ledger = Ledger(locate(str(tmp_path / "l.db")).event_store_env(create=True))
    asked: list[Any] = []
    check = type(AuditRecorder).__instancecheck__

    def counted(cls: Any, instance: Any) -> bool:
        if cls is AuditRecorder:
            asked.append(instance)
        return bool(check(cls, instance))

    monkeypatch.setattr(type(AuditRecorder), "__instancecheck__", counted)
    try:
        audits = {id(ledger.audit) for _ in range(10)}
    finally:
        ledger.close()
    assert audits == {id(ledger.recorder)}
    assert asked == []
