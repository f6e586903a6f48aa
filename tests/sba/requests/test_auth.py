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
    from tests.sba.requests.conftest import PASSWORD

    user = authenticate(sqlite_store, " Alice ", PASSWORD)
    assert (user.username, user.display_name, user.is_admin) == ("alice", "Alice Reviewer", True)
    with pytest.raises(AuthError, match=r"^Wrong user name or password\.$") as wrong_password:
        authenticate(sqlite_store, "alice", "not the password")
    with pytest.raises(AuthError) as unknown_user:
        authenticate(sqlite_store, "nobody", PASSWORD)
    assert str(wrong_password.value) == str(unknown_user.value)  # no hint which one was wrong
    actions = [(r["actor"], r["action"]) for r in sqlite_store.audit_log()][-3:]
    assert actions == [("alice", "login"), ("alice", "login_failed"), ("nobody", "login_failed")]


# --------------------------------------------------------------------------
# throttling: the clock is the store's (tests move it; nothing sleeps)


def wrong(store, name="alice", client="10.0.0.9"):
    """One wrong password; returns the exception (AuthError or SignInThrottled)."""
    with pytest.raises(AuthError) as err:
        authenticate(store, name, "not the password", client=client)
    return err.value


def test_throttle_policy__delays_double_after_three_free_failures_up_to_five_minutes():
    from sba.requests.throttle import DEFAULT_POLICY

    delays = [DEFAULT_POLICY.delay(n).total_seconds() for n in range(1, 14)]
    assert delays == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300]


def test_authenticate__after_three_failures_a_try_must_wait_and_the_password_is_not_checked(sqlite_store, clock):
    from sba.requests.errors import SignInThrottled
    from tests.sba.requests.conftest import PASSWORD

    for _ in range(4):
        assert type(wrong(sqlite_store)) is AuthError
    with pytest.raises(SignInThrottled, match=r"^Too many failed sign-ins for this account: wait 1 seconds") as err:
        authenticate(sqlite_store, "alice", PASSWORD, client="10.0.0.9")  # right password, too early
    assert err.value.retry_after == 1
    clock.advance(seconds=1)
    assert type(wrong(sqlite_store)) is AuthError  # 5th failure: now 2 s
    clock.advance(seconds=1)
    assert "wait 1 seconds" in str(wrong(sqlite_store))
    clock.advance(seconds=1)
    assert authenticate(sqlite_store, "alice", PASSWORD, client="10.0.0.9").username == "alice"
    # a success clears the count: three free failures again
    assert [type(wrong(sqlite_store)) for _ in range(3)] == [AuthError] * 3


def test_authenticate__ten_failures_lock_the_account_for_fifteen_minutes_and_it_is_logged(store, clock):
    from sba.requests.errors import SignInThrottled
    from sba.requests.throttle import DEFAULT_POLICY
    from tests.sba.requests.conftest import PASSWORD

    for n in range(1, 11):  # 25 tries in a row used to be checked at once, with no delay
        clock.advance(seconds=DEFAULT_POLICY.delay(n - 1).total_seconds())
        assert type(wrong(store, client=f"10.0.0.{n}")) is AuthError
    with pytest.raises(SignInThrottled, match=r"for this account: sign-in is locked for 15 more minutes"):
        authenticate(store, "alice", PASSWORD, client="10.0.0.99")
    clock.advance(minutes=14)
    with pytest.raises(SignInThrottled, match="locked for 1 more minute"):
        authenticate(store, "alice", PASSWORD)
    locks = [r for r in store.audit_log() if r["action"] == "login_locked"]
    assert [(r["actor"], r["detail"]) for r in locks] == [
        ("alice", "account:alice locked for 15 minutes after 10 failed sign-ins (from 10.0.0.10)")]
    assert [r["detail"] for r in store.audit_log() if r["action"] == "login_failed"][-1] == "from 10.0.0.10"
    clock.advance(minutes=1)
    assert type(wrong(store)) is AuthError  # unlocked and checked: this wrong try locks it again
    with pytest.raises(SignInThrottled, match="locked for 15 more minutes"):
        authenticate(store, "alice", PASSWORD)
    clock.advance(minutes=15)
    assert authenticate(store, "alice", PASSWORD).username == "alice"


def test_authenticate__one_client_trying_many_names_is_locked_out_but_others_are_not(sqlite_store, clock):
    from sba.requests.errors import SignInThrottled
    from sba.requests.throttle import DEFAULT_POLICY
    from tests.sba.requests.conftest import PASSWORD

    for n in range(1, 11):  # password spraying: a new name each time
        clock.advance(seconds=DEFAULT_POLICY.delay(n - 1).total_seconds())
        assert type(wrong(sqlite_store, name=f"user{n}", client="203.0.113.7")) is AuthError
    with pytest.raises(SignInThrottled, match="from this computer: sign-in is locked"):
        authenticate(sqlite_store, "alice", PASSWORD, client="203.0.113.7")
    assert authenticate(sqlite_store, "alice", PASSWORD, client="198.51.100.4").username == "alice"


def test_authenticate__failures_count_across_connections_and_are_forgotten_after_a_day(sqlite_target, clock):
    from zoneinfo import ZoneInfo

    from sba.requests.errors import SignInThrottled
    from tests.sba.requests.conftest import PASSWORD, _open

    _open(sqlite_target, clock).close()
    for _ in range(4):  # each try from a new connection (another app session, or the command line)
        with RequestStore.open(sqlite_target, clock=clock, tz=ZoneInfo("America/Los_Angeles")) as s:
            wrong(s)
    with RequestStore.open(sqlite_target, clock=clock) as s:
        with pytest.raises(SignInThrottled):
            authenticate(s, "alice", PASSWORD)
        clock.advance(hours=24)
        assert [type(wrong(s)) for _ in range(3)] == [AuthError] * 3  # the old four no longer count


def test_authenticate__a_huge_user_name_is_cut_in_the_log(sqlite_store):
    wrong(sqlite_store, name="x" * 1_000_000)
    row = sqlite_store.audit_log()[-1]
    assert (row["action"], len(row["actor"])) == ("login_failed", 100)


# --------------------------------------------------------------------------
# API tokens


def test_tokens__made_by_an_admin_sign_in_as_the_account_and_only_their_hash_is_kept(sqlite_store):
    from sba.requests.tokens import authenticate_token, create_token

    number, token = create_token(sqlite_store, "bob", actor="alice", label="nightly export")
    assert token.startswith("sba_")
    assert len(token) == 47
    assert authenticate_token(sqlite_store, token, via="sba requests export").username == "bob"
    stored = sqlite_store.db.query("SELECT * FROM api_tokens")
    assert token not in str(stored)
    assert token not in str(sqlite_store.audit_log())
    log = sqlite_store.audit_log()[-2:]
    assert [(r["actor"], r["action"]) for r in log] == [("alice", "add_token"), ("bob", "login")]
    assert log[1]["detail"] == f"API token {number} (nightly export); sba requests export"


def test_tokens__only_admins_make_or_revoke_them(sqlite_store):
    from sba.requests.tokens import create_token, revoke_token

    with pytest.raises(AuthError, match="Only an administrator"):
        create_token(sqlite_store, "bob", actor="bob")
    number, _ = create_token(sqlite_store, "bob", actor="alice")
    with pytest.raises(AuthError, match="Only an administrator"):
        revoke_token(sqlite_store, number, actor="bob")
    with pytest.raises(AuthError, match="'nobody' is not an active staff account"):
        create_token(sqlite_store, "nobody", actor="alice")


def test_tokens__expired_revoked_or_unknown_tokens_are_refused_and_logged(sqlite_store, clock):
    from sba.requests import NotFoundError
    from sba.requests.tokens import authenticate_token, create_token, revoke_token

    _, short = create_token(sqlite_store, "bob", actor="alice", days=1)
    number, revoked = create_token(sqlite_store, "bob", actor="alice")
    revoke_token(sqlite_store, number, actor="alice")
    with pytest.raises(NotFoundError):
        revoke_token(sqlite_store, number, actor="alice")
    clock.advance(days=1)
    for token in (short, revoked, "sba_" + "A" * 43, ""):
        with pytest.raises(AuthError, match=r"^This API token is not valid: it is unknown, expired or revoked\.$"):
            authenticate_token(sqlite_store, token)
    assert [r["action"] for r in sqlite_store.audit_log()][-4:] == ["token_failed"] * 4


def test_add_staff__without_a_signed_in_admin_is_refused_once_an_account_exists(sqlite_store):
    with pytest.raises(AuthError, match="Only a signed-in administrator can add staff accounts"):
        add_staff(sqlite_store, "mallory", "long enough password", admin=True)
    assert get_staff(sqlite_store, "mallory") is None
