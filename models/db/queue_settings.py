"""Head Office's queues (models/queues.py), kept as a setting document like the other policies."""

from __future__ import annotations

from sqlmodel import Session

from models.db.tables import SettingRow
from models.queues import QueueSettings

QUEUE_SETTING_KEY = "queues"


def get_queue_settings(session: Session) -> QueueSettings:
    row = session.get(SettingRow, QUEUE_SETTING_KEY)
    return QueueSettings.model_validate(row.value) if row else QueueSettings()


def put_queue_settings(session: Session, settings: QueueSettings) -> QueueSettings:
    row = session.get(SettingRow, QUEUE_SETTING_KEY) or SettingRow(key=QUEUE_SETTING_KEY)
    row.value = settings.model_dump(mode="json")
    session.add(row)
    session.commit()
    return settings
