"""Staff accounts' pure rules: names, roles, what a signed-in user is to the role checks, and passwords."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.settings import Role
from models.staff import StaffRole, StaffUser, check_password, hash_password, verify_password


def test_head_office_staff_act_as_head_office_under_their_own_name():
    for role in (StaffRole.ho_admin, StaffRole.ho_agent):
        holder = StaffUser(username="alice", display_name="Alice", role=role).as_holder()
        assert (holder.name, holder.role, holder.store_id) == ("alice", Role.head_office, None)


def test_store_staff_are_bound_to_their_store():
    holder = StaffUser(username="sam", display_name="Sam", role=StaffRole.store_staff, store_id="S001").as_holder()
    assert (holder.name, holder.role, holder.store_id) == ("sam", Role.store, "S001")
    with pytest.raises(ValidationError, match="store_id is required"):
        StaffUser(username="sam", display_name="Sam", role=StaffRole.store_staff)
    with pytest.raises(ValidationError, match="store_id is required"):
        StaffUser(username="al", display_name="Al", role=StaffRole.ho_agent, store_id="S001")


@pytest.mark.parametrize("username", ["A", "Alice", "1alice", "alice smith", "a" * 33, "ho:alice"])
def test_user_names_are_short_plain_and_lower_case(username: str):
    with pytest.raises(ValidationError, match="user name"):
        StaffUser(username=username, display_name="x", role=StaffRole.ho_agent)


def test_passwords_are_hashed_and_verified_and_short_ones_refused():
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert verify_password("correct horse battery", hashed)
    assert not verify_password("correct horse batterY", hashed)
    assert not verify_password("correct horse battery", None)  # no such user
    with pytest.raises(ValueError, match="at least 12"):
        check_password("short")
