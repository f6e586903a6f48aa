"""Staff accounts: hashed passwords, first admin, log-in with audit rows."""

from __future__ import annotations

import pytest

from sba.requests import (
    AuthError,
    RequestStore,
    add_staff,
    authenticate,
    get_staff,
    staff_count,
)
from sba.requests.auth import hash_password, list_staff, verify_password


def test_hash_password__salted_and_verifiable():
    a, b = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert a != b  # a salt of its own each time
    assert verify_password("s3cret-pass", a)
    assert not verify_password("s3cret-pasS", a)
    assert not verify_password("s3cret-pass", "md5$abc")
    assert not verify_password("s3cret-pass", "garbage")


def test_add_staff__first_account_is_admin_and_passwords_are_not_stored(sqlite_target):
    store = RequestStore.open(sqlite_target)
    assert staff_count(store) == 0
    first = add_staff(store, "Carol", "long enough password")
    second = add_staff(store, "dave", "long enough password", display_name="Dave D.", actor="carol")
    assert (first.username, first.is_admin, second.is_admin) == ("carol", True, False)
    assert [u.username for u in list_staff(store)] == ["carol", "dave"]
    hashes = [r["password_hash"] for r in store.db.query("SELECT password_hash FROM staff")]
    assert all(h.startswith("scrypt$") and "long enough" not in h for h in hashes)
    log = store.audit_log()
    assert [(r["actor"], r["action"], r["after"]["username"]) for r in log] == [
        ("set-up command", "add_staff", "carol"), ("carol", "add_staff", "dave")]
    assert "password" not in str(log)
    store.close()


@pytest.mark.parametrize(
    ("username", "password", "match"),
    [
        ("x", "long enough password", "is not allowed"),
        ("al ice", "long enough password", "is not allowed"),
        ("eve", "short", "at least 8 characters"),
        ("alice", "long enough password", "already a staff account called 'alice'"),
    ],
)
def test_add_staff__refusals(sqlite_store, username, password, match):
    with pytest.raises(AuthError, match=match):
        add_staff(sqlite_store, username, password)


def test_add_staff__only_admins_add_accounts_in_the_app(sqlite_store):
    with pytest.raises(AuthError, match="Only an administrator"):
        add_staff(sqlite_store, "eve", "long enough password", actor="bob")  # bob is not an admin
    user = add_staff(sqlite_store, "eve", "long enough password", actor="alice")
    assert get_staff(sqlite_store, "EVE") == user
    assert sqlite_store.audit_log()[-1]["actor"] == "alice"


def test_authenticate__good_and_bad_passwords_are_logged(sqlite_store):
    from tests.requests.conftest import PASSWORD

    user = authenticate(sqlite_store, " Alice ", PASSWORD)
    assert (user.username, user.display_name, user.is_admin) == ("alice", "Alice Reviewer", True)
    with pytest.raises(AuthError, match=r"^Wrong user name or password\.$") as wrong_password:
        authenticate(sqlite_store, "alice", "not the password")
    with pytest.raises(AuthError) as unknown_user:
        authenticate(sqlite_store, "nobody", PASSWORD)
    assert str(wrong_password.value) == str(unknown_user.value)  # no hint which one was wrong
    actions = [(r["actor"], r["action"]) for r in sqlite_store.audit_log()][-3:]
    assert actions == [("alice", "login"), ("alice", "login_failed"), ("nobody", "login_failed")]
