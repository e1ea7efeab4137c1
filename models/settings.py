"""One Settings object for every process, read from the environment with the prefix BATON_."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Role(StrEnum):
    head_office = "head_office"  # everything, including settings and interventions
    channel = "channel"  # a webstore, POS or call centre: place and read orders


class ApiKeyHolder(BaseModel):
    name: str
    role: Role


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BATON_", env_file=".env", extra="ignore")

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "baton-orders"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'baton.db'}"
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    store_push_timeout_seconds: float = Field(default=10.0, gt=0)
    # Bearer API keys: key -> who holds it. The dev stack sets demo keys; production sets its own.
    api_keys: dict[str, ApiKeyHolder] = Field(default_factory=dict)
    temporal_ui_url: str = "http://localhost:8233"


@lru_cache
def get_settings() -> Settings:
    return Settings()
