"""Adjusting and deciding: categories, dates, letters, audit rows, conflicts between reviewers."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from sba.requests import (
    AuthError,
    ConflictError,
    DecisionError,
    RequestStore,
    add_record_feature,
    adjust_feature,
    decide,
    import_package,
)


def _import(store, records, packages, pid):
    data, who = packages[pid]
    return import_package(store, data, records, actor="alice", requester=who)


def test_decide__accept_changes_the_category_from_today(store, records, packages):
    rid = _import(store, records, packages, "R100065")
    d = decide(store, records, rid, "accept", actor="alice")
    assert (d.status, d.old_category, d.new_category, d.changed) == ("accepted", "large", "standard", True)
    assert d.effective_date == dt.date(2026, 3, 2)
    req = store.get(rid)
    assert (req.status, req.decision, req.decided_category, req.decided_sqft) == (
        "accepted", "accept", "standard", "2569")
    assert (req.decided_by, req.effective_date, req.version) == ("alice", "2026-03-02", 2)
    kinds = {f.kind for f in req.files}
    assert {"letter_md", "letter_pdf"} <= kinds
    md = store.latest_file(rid, "letter_md")[1].decode()
    assert "**Decision: your request is accepted.**" in md
    assert "changes from **large** to **standard**, effective **March 2, 2026**" in md
    assert "not retroactive" in md
    assert "| Billable area | 2,569 | 2,569 |" in md
    assert store.latest_file(rid, "letter_pdf")[1].startswith(b"%PDF")
    row = store.audit_log(rid)[-1]
    assert (row["actor"], row["action"]) == ("alice", "decide")
    assert row["before"]["status"] == "submitted"
    assert row["after"]["status"] == "accepted"
    assert row["after"]["effective_date"] == "2026-03-02"
    assert row["after"]["comparison"]["request_category"] == "standard"


def test_decide__the_letters_show_only_the_last_four_digits_of_the_account_number(sqlite_store, records, packages):
    """The letters go by post and to the homeowner's status link: the account number is masked in both."""
    import io

    import pypdf

    rid = _import(sqlite_store, records, packages, "R100065")
    account = sqlite_store.get(rid).account_number
    decide(sqlite_store, records, rid, "accept", actor="alice")
    md = sqlite_store.latest_file(rid, "letter_md")[1].decode()
    pdf = pypdf.PdfReader(io.BytesIO(sqlite_store.latest_file(rid, "letter_pdf")[1]))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert len(account) == 10
    assert account not in md
    assert account not in text
    assert f"**Utility account:** ••••••{account[-4:]}" in md
    assert f"••••••{account[-4:]}" in text


def test_decide__reject_keeps_the_category_and_needs_a_reason(sqlite_store, records, packages):
    rid = _import(sqlite_store, records, packages, "R100075")
    with pytest.raises(DecisionError, match="Give a reason to reject"):
        decide(sqlite_store, records, rid, "reject", actor="bob")
    d = decide(sqlite_store, records, rid, "reject", actor="bob",
               reason="The garage, patio and deck are visible on the 2025 aerial photo.")
    assert (d.status, d.new_category, d.decided_sqft) == ("rejected", "standard", None)
    assert d.comparison.crosses_threshold
    assert "Your stormwater category stays **standard**." in d.letter_markdown
    assert "City's record (sq ft)" in d.letter_markdown
    assert "**Reason:** The garage, patio and deck" in d.letter_markdown
    assert d.letter_markdown.rstrip().endswith("Stormwater billing review")


def test_decide__decision_date_is_the_utility_date_not_utc(sqlite_store, records, packages, clock):
    clock.when = dt.datetime(2026, 3, 3, 6, 30, tzinfo=dt.UTC)  # 22:30 on March 2 in Portland
    rid = _import(sqlite_store, records, packages, "R100065")
    d = decide(sqlite_store, records, rid, "accept", actor="alice")
    assert d.effective_date == dt.date(2026, 3, 2)
    assert "**Date:** March 2, 2026" in d.letter_markdown
    assert "received March 2, 2026" in d.letter_markdown  # the utility's date, not UTC's March 3
    assert sqlite_store.get(rid).submitted_at == "2026-03-03T06:30:00Z"


@pytest.mark.parametrize(
    ("days", "match"),
    [(-1, "Decisions cannot be back-dated"), (1, "cannot be dated in the future")],
    ids=["yesterday", "tomorrow"],
)
def test_decide__dates_other_than_today_are_refused(sqlite_store, records, packages, clock, days, match):
    clock.advance(days=3)
    rid = _import(sqlite_store, records, packages, "R100065")
    clock.advance(days=1)
    when = sqlite_store.today() + dt.timedelta(days=days)
    with pytest.raises(DecisionError, match=match):
        decide(sqlite_store, records, rid, "accept", actor="alice", decided_on=when)
    assert sqlite_store.get(rid).status == "submitted"


def test_decide__a_date_before_the_submission_is_refused(sqlite_store, records, packages, clock):
    rid = _import(sqlite_store, records, packages, "R100065")  # submitted March 2
    with pytest.raises(DecisionError, match="earlier than the request's submission on 2026-03-02"):
        decide(sqlite_store, records, rid, "accept", actor="alice", decided_on=dt.date(2026, 3, 1))
    clock.advance(days=-2)  # a server clock set back: today is before the submission
    with pytest.raises(DecisionError, match="earlier than the request's submission"):
        decide(sqlite_store, records, rid, "accept", actor="alice")
    assert sqlite_store.get(rid).version == 1


def test_decide__only_staff_can_decide(sqlite_store, records, packages):
    rid = _import(sqlite_store, records, packages, "R100065")
    with pytest.raises(AuthError, match="'mallory' is not an active staff account"):
        decide(sqlite_store, records, rid, "accept", actor="mallory")
    with pytest.raises(DecisionError, match="'approve' is not a decision"):
        decide(sqlite_store, records, rid, "approve", actor="alice")


def test_adjust__type_change_then_decide_adjust(store, records, packages):
    rid = _import(store, records, packages, "R100077")
    req = store.get(rid)
    gravel = next(f for f in req.features if f.feature_type == "other")
    with pytest.raises(DecisionError, match="'Adjust' means staff changed features first"):
        decide(store, records, rid, "adjust", actor="bob", reason="x")
    v = adjust_feature(store, records, rid, gravel.position, actor="bob", feature_type="gravel",
                       reason="The pad is gravel on the site photo.")
    assert v == 2
    feat = next(f for f in store.get(rid).features if f.position == gravel.position)
    assert (feat.feature_type, feat.original_type, feat.adjusted) == ("gravel", "other", True)
    row = store.audit_log(rid)[-1]
    assert row["action"] == "adjust_feature"
    assert (row["before"]["feature_type"], row["after"]["feature_type"]) == ("other", "gravel")
    with pytest.raises(DecisionError, match="record the decision as 'adjust'"):
        decide(store, records, rid, "accept", actor="bob")
    d = decide(store, records, rid, "adjust", actor="bob", reason="Gravel is billable; the new shed counts.")
    assert (d.status, d.new_category, d.decided_sqft) == ("adjusted", "small", "1479")
    assert "accepted with changes made by our staff" in d.letter_markdown


def test_adjust__use_the_city_outline_and_add_a_record_feature(sqlite_store, records, packages):
    rid = _import(sqlite_store, records, packages, "R100075")
    roof = next(f for f in sqlite_store.get(rid).features if f.feature_type == "roof")
    adjust_feature(sqlite_store, records, rid, roof.position, actor="alice", use_record="F0350",
                   reason="The roof is larger on the photo.")
    add_record_feature(sqlite_store, records, rid, "F0351", actor="alice", reason="The garage is there.")
    req = sqlite_store.get(rid)
    assert [f.feature_type for f in req.features] == ["roof", "walkway", "garage"]
    assert req.features[-1].source == "record"
    d = decide(sqlite_store, records, rid, "adjust", actor="alice", reason="Roof and garage as on the photo.")
    assert d.decided_sqft == "2192"  # 1,666.5 roof + 484 garage + 42 walkway, rounded half-up
    assert d.new_category == "standard"


def test_adjust__remove_and_restore_and_refusals(sqlite_store, records, packages):
    rid = _import(sqlite_store, records, packages, "R100077")
    shed = max(f.position for f in sqlite_store.get(rid).features)
    adjust_feature(sqlite_store, records, rid, shed, actor="alice", remove=True, reason="Not built yet.")
    assert sqlite_store.get(rid).features[-1].removed
    adjust_feature(sqlite_store, records, rid, shed, actor="alice", remove=False, reason="It is built.")
    assert not sqlite_store.get(rid).adjusted
    with pytest.raises(DecisionError, match="Nothing to change"):
        adjust_feature(sqlite_store, records, rid, shed, actor="alice", remove=False, reason="again")
    with pytest.raises(DecisionError, match="'hut' is not a feature type"):
        adjust_feature(sqlite_store, records, rid, shed, actor="alice", feature_type="hut", reason="r")
    with pytest.raises(DecisionError, match="Give a reason"):
        adjust_feature(sqlite_store, records, rid, shed, actor="alice", feature_type="patio", reason=" ")
    far = {"type": "Polygon", "coordinates": [[[-122.0, 45.0], [-122.0001, 45.0], [-122.0001, 45.0001],
                                               [-122.0, 45.0]]]}
    with pytest.raises(DecisionError, match="lies outside tax lot R100077"):
        adjust_feature(sqlite_store, records, rid, shed, actor="alice", geometry=far, reason="r")
    with pytest.raises(DecisionError, match="no feature 'F9999'"):
        add_record_feature(sqlite_store, records, rid, "F9999", actor="alice", reason="r")


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # shapely, on the NaN coordinate
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a1_4_repair__a_staff_outline_with_a_corner_that_is_not_a_number_is_refused_not_guessed(
        sqlite_store, records, packages, value):
    """GeoJSON from the staff command line may hold NaN; repairing it would drop the corner and
    store a guessed shed (SPEC A1.4 repairs crossings)."""
    rid = _import(sqlite_store, records, packages, "R100077")
    shed = max(f.position for f in sqlite_store.get(rid).features)
    before = sqlite_store.get(rid).version
    lot = records.lot("R100077").to_crs(4326).geometry.iloc[0]
    x, y = lot.centroid.x, lot.centroid.y
    outline = {"type": "Polygon", "coordinates": [[[x, y], [x + 1e-4, y], [x + 1e-4, value], [x, y + 1e-4], [x, y]]]}
    with pytest.raises(DecisionError, match="corner that is not a number"):
        adjust_feature(sqlite_store, records, rid, shed, actor="alice", geometry=outline, reason="r")
    assert sqlite_store.get(rid).version == before


# --------------------------------------------------------------------------
# two reviewers


def test_conflict__a_decided_request_cannot_be_decided_again(store, records, packages):
    rid = _import(store, records, packages, "R100065")
    decide(store, records, rid, "accept", actor="alice")
    with pytest.raises(ConflictError) as err:
        decide(store, records, rid, "reject", actor="bob", reason="too late", expected_version=1)
    assert str(err.value) == (f"Request {rid} was already decided (accepted) by alice on 2026-03-02; your decision "
                              "was not saved. Reload the request to see that decision.")
    req = store.get(rid)
    assert (req.status, req.decided_by, req.version) == ("accepted", "alice", 2)
    last = store.audit_log(rid)[-1]
    assert (last["actor"], last["action"]) == ("bob", "decide_conflict")
    assert last["after"]["decision"] == "reject"  # bob's attempt is kept in the log


def test_conflict__a_stale_version_names_who_changed_it(sqlite_store, records, packages):
    rid = _import(sqlite_store, records, packages, "R100077")
    adjust_feature(sqlite_store, records, rid, 1, actor="alice", feature_type="garage", reason="r",
                   expected_version=1)
    with pytest.raises(ConflictError, match=r"was changed by alice \(adjust feature\) after you opened it "
                                            r"\(version 1, now 2\)"):
        decide(sqlite_store, records, rid, "accept", actor="bob", expected_version=1)
    with pytest.raises(ConflictError, match="Reload the request and try again"):
        adjust_feature(sqlite_store, records, rid, 2, actor="bob", feature_type="garage", reason="r",
                       expected_version=1)


def test_conflict__two_reviewers_at_once_one_wins(db_target, records, packages, clock, monkeypatch):
    """Two threads, two connections, both saw version 1 and decide at the same moment."""
    from tests.sba.requests.conftest import _open

    setup = _open(db_target, clock)
    rid = _import(setup, records, packages, "R100040")
    barrier = threading.Barrier(2, timeout=30)
    original = RequestStore.apply_change

    def in_step(self, *args, **kwargs):
        barrier.wait()  # both have checked, compared and written their letters: now both write
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RequestStore, "apply_change", in_step)
    results: dict[str, object] = {}

    def review(who, decision, reason):
        store = RequestStore.open(db_target, clock=clock, tz=setup.tz)
        try:
            results[who] = decide(store, records, rid, decision, actor=who, reason=reason, expected_version=1)
        except Exception as err:  # collected and checked below
            results[who] = err
        finally:
            store.close()

    threads = [threading.Thread(target=review, args=("alice", "accept", "")),
               threading.Thread(target=review, args=("bob", "reject", "The patio is still there."))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    monkeypatch.undo()
    conflicts = {w: r for w, r in results.items() if isinstance(r, ConflictError)}
    wins = {w: r for w, r in results.items() if not isinstance(r, Exception)}
    assert len(wins) == 1, results
    assert len(conflicts) == 1, results
    (winner, decision), (loser, err) = next(iter(wins.items())), next(iter(conflicts.items()))
    assert f"was already decided ({decision.status}) by {winner}" in str(err)
    req = setup.get(rid)
    assert (req.status, req.decided_by, req.version) == (decision.status, winner, 2)
    assert [f.kind for f in req.files].count("letter_md") == 1  # only the winner's letter
    actions = [(a["actor"], a["action"]) for a in setup.audit_log(rid)]
    assert actions == [("alice", "import"), (winner, "decide"), (loser, "decide_conflict")]
    setup.close()
