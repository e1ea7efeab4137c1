"""Staff accounts: the named people who sign in to the pages (API keys stay for systems).

A staff user has a role: a Head Office admin or agent (both act on every order as Head Office), or store staff
bound to one store. Signed in, a staff user is seen by the rest of Baton as an `ApiKeyHolder` named after them, so
every role check is the one the API keys go through and every Head Office action is recorded as `ho:<username>`.
Passwords are hashed with Argon2id (pwdlib); only the hash is stored."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from typing import Self

from pwdlib import PasswordHash
from pydantic import BaseModel, field_validator, model_validator

from models.settings import ApiKeyHolder, Role

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")  # short, lower-case: it is written into every history entry
MIN_PASSWORD_LENGTH = 12


class StaffRole(StrEnum):
    ho_admin = "ho_admin"  # Head Office: every order and every action
    ho_agent = "ho_agent"  # Head Office: every order and every action
    store_staff = "store_staff"  # one store's Pick Manager

    @property
    def label(self) -> str:
        return {"ho_admin": "Head Office admin", "ho_agent": "Head Office agent", "store_staff": "store staff"}[
            self.value
        ]


class StaffUser(BaseModel):
    """A staff account as the pages see it (never its password hash)."""

    username: str
    display_name: str
    role: StaffRole
    store_id: str | None = None
    active: bool = True

    @field_validator("username")
    @classmethod
    def _username_is_short_and_plain(cls, value: str) -> str:
        if not USERNAME.match(value):
            raise ValueError("a user name is 2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter")
        return value

    @model_validator(mode="after")
    def _store_staff_name_their_store(self) -> Self:
        if (self.role is StaffRole.store_staff) != (self.store_id is not None):
            raise ValueError("store_id is required for store staff, and only for them")
        return self

    def as_holder(self) -> ApiKeyHolder:
        """Who the user is to the role checks and the history: Head Office or one store, by their own name."""
        if self.role is StaffRole.store_staff:
            return ApiKeyHolder(name=self.username, role=Role.store, store_id=self.store_id)
        return ApiKeyHolder(name=self.username, role=Role.head_office)


def check_password(password: str) -> str:
    """The password, if it is long enough to be worth hashing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return password


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()  # Argon2id with the library's current parameters


def hash_password(password: str) -> str:
    return _hasher().hash(check_password(password))


# Checked when the user name is unknown, so an unknown name takes as long to refuse as a wrong password.
_UNKNOWN_USER_HASH: list[str] = []


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether `password` matches `password_hash`; with no hash (no such user) the same work is done, then False."""
    if password_hash is None:
        if not _UNKNOWN_USER_HASH:
            _UNKNOWN_USER_HASH.append(_hasher().hash("no-such-user-placeholder"))
        _hasher().verify(password, _UNKNOWN_USER_HASH[0])
        return False
    return _hasher().verify(password, password_hash)
