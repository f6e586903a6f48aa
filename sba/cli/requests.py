"""``sba requests ...``: the staff review tool on the command line.

:func:`register` adds the ``requests`` command to the ``sba`` parser. Every
mistake ends in one sentence on stderr and exit code 2 (``UsageError``), like
the rest of ``sba``.

Every command signs a staff member in first, as the app does: ``--staff NAME``
and the password (asked at the terminal, or the first line of standard input
with ``--password-stdin``), or an API token an administrator made
(``$SBA_STAFF_TOKEN``). Failed sign-ins are throttled and logged like the
app's; the signed-in name is the one written in the audit log. Only
``add-staff`` for the very first account (the administrator) runs without
signing in.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sba.cli.args import Parser, UsageError, print_json, whole_number
from sba.requests.errors import RequestError

if TYPE_CHECKING:
    from sba.requests.auth import StaffUser
    from sba.requests.records import Records
    from sba.requests.store import RequestStore

__all__ = ["EXIT_TAMPERED", "register"]

EXIT_TAMPERED = 3  # sba requests verify: the audit log's hash chain is broken


def _wrap(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(func)
    def run(args) -> int:
        try:
            return func(args)
        except RequestError as err:
            raise UsageError(str(err)) from err

    return run


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=None,
                        help="SQLite file or postgresql:// URL (default $SBA_REQUESTS_DB or "
                             "~/.local/share/sba/requests.sqlite)")
    return common


def _auth_opts() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("signing in (or set SBA_STAFF_TOKEN to an API token)")
    g.add_argument("--staff", default=None, metavar="NAME", help="your staff user name")
    g.add_argument("--password-stdin", action="store_true",
                   help="read your password from the first line of standard input (default: ask)")
    return p


def _records_opt() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--records", default=None,
                   help="folder with the utility's parcels, features, water and accounts.csv "
                        "(default $SBA_RECORDS_DIR or the sample neighbourhood)")
    return p


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``sba requests`` and its sub-commands to ``sba``'s sub-parsers."""
    common, records = _common(), _records_opt()
    common = argparse.ArgumentParser(add_help=False, parents=[common, _auth_opts()])
    rq = subparsers.add_parser(
        "requests", help="review single-family category change requests (staff)",
        description="Staff review of single-family category change requests: import, compare with the "
                    "City's record, adjust, decide, letters and the audit log (SPEC A4).")
    sub = rq.add_subparsers(dest="requests_command", metavar="ACTION", parser_class=Parser)
    rq.set_defaults(func=_no_action)

    p = sub.add_parser("import", parents=[common, records], help="import an evidence package or a GeoJSON + form",
                       description="Import an evidence package ZIP, or a GeoJSON of features with the form's "
                                   "fields. A bad or ineligible submission is refused whole.")
    p.add_argument("file", help="evidence package (.zip) or features (.geojson)")
    p.add_argument("--requester", default="", help="the requester's name (the account holder)")
    p.add_argument("--email", default="")
    p.add_argument("--phone", default="")
    g = p.add_argument_group("GeoJSON submissions (the City form's fields)")
    g.add_argument("--parcel-id", default="", help="tax lot id (Property ID)")
    g.add_argument("--account", default="", help="10-digit utility account number")
    g.add_argument("--current-category", default="", help="category printed on the bill")
    g.add_argument("--method", default="", help="method statement: how and on what imagery it was measured")
    g.add_argument("--imagery", default="")
    g.add_argument("--confirmed", action="store_true",
                   help="the requester confirmed: single-family, one dwelling unit, one account, account holder")
    p.add_argument("--attach", action="append", default=[], help="an attachment (pdf/jpg/png), up to 3")
    p.set_defaults(func=_wrap(cmd_import))

    p = sub.add_parser("list", parents=[common], help="list requests",
                       description="List the requests, oldest first.")
    p.add_argument("--status", default=None, help="submitted, accepted, adjusted or rejected")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_wrap(cmd_list))

    p = sub.add_parser("show", parents=[common, records], help="show a request and its comparison with the record",
                       description="Show a request, its features compared with the City's record, and its history.")
    p.add_argument("id", type=whole_number("request number"))
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_wrap(cmd_show))

    p = sub.add_parser("adjust", parents=[common, records], help="change a feature of a request (staff)",
                       description="Change one feature's type or outline, use the City's outline, remove or "
                                   "restore it, or add a feature from the City's record.")
    p.add_argument("id", type=whole_number("request number"))
    p.add_argument("--feature", type=whole_number("--feature"), default=None,
                   help="the feature's number in the request")
    p.add_argument("--type", dest="feature_type", default=None, help="new feature type (roof, patio, ...)")
    p.add_argument("--geometry", default=None, help="GeoJSON file with the new outline (EPSG:4326)")
    p.add_argument("--use-record", default=None, help="take this record feature's outline and type (e.g. F0351)")
    p.add_argument("--remove", action="store_true", help="leave the feature out")
    p.add_argument("--restore", action="store_true", help="put a removed feature back")
    p.add_argument("--add-record", default=None, help="add this record feature to the request")
    p.add_argument("--reason", required=True)
    p.add_argument("--version", type=whole_number("--version"), default=None,
                   help="the version you reviewed (refused if the request changed since)")
    p.set_defaults(func=_wrap(cmd_adjust))

    p = sub.add_parser("decide", parents=[common, records], help="accept, adjust or reject a request (staff)",
                       description="Record a decision. The new category takes effect today (the utility's "
                                   "date), never earlier. Writes the decision letter.")
    p.add_argument("id", type=whole_number("request number"))
    p.add_argument("--decision", required=True, choices=["accept", "adjust", "reject"])
    p.add_argument("--reason", default="", help="required to adjust or reject; goes in the letter")
    p.add_argument("--version", type=whole_number("--version"), default=None,
                   help="the version you reviewed (refused if the request changed since)")
    p.add_argument("--letter", default=None, help="also write the letter to this .md or .pdf file")
    p.set_defaults(func=_wrap(cmd_decide))

    p = sub.add_parser("letter", parents=[common], help="write a decided request's letter",
                       description="Write the decision letter of a decided request.")
    p.add_argument("id", type=whole_number("request number"))
    p.add_argument("--out", required=True, help=".md or .pdf file")
    p.set_defaults(func=_wrap(cmd_letter))

    p = sub.add_parser("export", parents=[common], help="export the audit log (or the decisions) as CSV",
                       description="Export the append-only audit log, or every request's outcome, as CSV.")
    p.add_argument("--what", choices=["audit", "requests"], default="audit")
    p.add_argument("--request", type=whole_number("--request"), default=None, help="only this request's audit rows")
    p.add_argument("--out", default=None, help="CSV file (default: standard output)")
    p.set_defaults(func=_wrap(cmd_export))

    p = sub.add_parser("add-staff", parents=[common], help="create a staff account (the first one is the admin)",
                       description="Create a staff account. The first account (the administrator) needs no "
                                   "sign-in; after that an administrator signs in with --staff. The new password "
                                   "is asked for twice, or read from standard input with --password-stdin: "
                                   "line 1 your password, line 2 the new account's (only the new one for the "
                                   "first account or with SBA_STAFF_TOKEN).")
    p.add_argument("--username", required=True)
    p.add_argument("--name", default="", help="name shown in letters (default: the user name)")
    p.add_argument("--admin", action="store_true", help="may add staff accounts in the app")
    p.set_defaults(func=_wrap(cmd_add_staff))

    p = sub.add_parser("add-token", parents=[common], help="make an API token for a staff account (admin)",
                       description="Make an API token that lets a script act as a staff account (set it as "
                                   "SBA_STAFF_TOKEN). It is shown once; only its hash is kept.")
    p.add_argument("--for", dest="for_user", required=True, metavar="NAME", help="the staff account the token acts as")
    p.add_argument("--label", default="", help="what the token is for (shown in the audit log)")
    p.add_argument("--days", type=whole_number("--days"), default=90, help="days until it expires (default 90)")
    p.set_defaults(func=_wrap(cmd_add_token))

    p = sub.add_parser("revoke-token", parents=[common], help="stop an API token from working (admin)",
                       description="Revoke an API token by its number (printed when it was made).")
    p.add_argument("token_id", type=whole_number("token number"))
    p.set_defaults(func=_wrap(cmd_revoke_token))

    p = sub.add_parser("verify", parents=[common], help="check that the audit log was not tampered with",
                       description="Check the audit log's hash chain, oldest row first. Exit code 0: intact; "
                                   "3: a row was changed, deleted or inserted outside the tool (the message "
                                   "names it). Note the last row's number and hash somewhere else and pass "
                                   "them later with --anchor to catch a rewritten chain.")
    p.add_argument("--anchor", action="append", default=[], metavar="ROW:HASH",
                   help="a row number and hash noted earlier (repeatable)")
    p.set_defaults(func=_wrap(cmd_verify))

    p = sub.add_parser("seed-sample", parents=[common], help="load the sample queue (4 requests)",
                       description="Import four sample requests for the sample lots billed in the wrong "
                                   "category (R100065, R100040, R100077, R100075).")
    p.set_defaults(func=_wrap(cmd_seed))
    return rq


def _no_action(args: argparse.Namespace) -> int:
    raise UsageError("Say which action to run: import, list, show, adjust, decide, letter, export, verify, "
                     "add-staff, add-token, revoke-token or seed-sample. Run 'sba requests --help' for more.")


def _store(args: argparse.Namespace) -> RequestStore:
    from sba.requests.store import RequestStore

    return RequestStore.open(args.db)


@contextlib.contextmanager
def _session(args: argparse.Namespace) -> Iterator[tuple[RequestStore, StaffUser]]:
    """The open store and the staff member signed in by ``--staff`` + password or ``$SBA_STAFF_TOKEN``."""
    with _store(args) as store:
        yield store, _sign_in(args, store)


def _sign_in(args: argparse.Namespace, store: RequestStore) -> StaffUser:
    from sba.requests.auth import authenticate
    from sba.requests.tokens import authenticate_token

    via = f"sba requests {args.requests_command}"
    token = os.environ.get("SBA_STAFF_TOKEN", "").strip()
    if token:
        user = authenticate_token(store, token, via=via)
        if args.staff and args.staff.strip().lower() != user.username:
            raise UsageError(f"SBA_STAFF_TOKEN acts as {user.username!r}, not {args.staff!r}; leave out --staff.")
        return user
    if not args.staff:
        raise UsageError("Say who you are with --staff NAME (you will be asked for your password), or set "
                         "SBA_STAFF_TOKEN to an API token.")
    password = _password(args, f"Password for {args.staff}: ")
    return authenticate(store, args.staff, password, client=_client(), via=via)


def _password(args: argparse.Namespace, prompt: str, *, twice: bool = False) -> str:
    """One password: the next line of standard input with --password-stdin, else asked at the terminal."""
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("--password-stdin was given, but standard input has no (more) lines.")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("There is no terminal to ask for the password; pipe it in with --password-stdin "
                         "(or set SBA_STAFF_TOKEN).")
    password = getpass.getpass(prompt)
    if twice and getpass.getpass("Again: ") != password:
        raise UsageError("The two passwords differ; nothing was changed.")
    return password


def _client() -> str:
    """Who runs the command, for the per-client throttle and the audit log."""
    try:
        return f"command line ({getpass.getuser()})"
    except (KeyError, OSError):  # no user name for this uid
        return f"command line (uid {os.getuid()})"


def _records(args: argparse.Namespace) -> Records:
    from sba.requests.records import Records

    return Records.load(args.records)


def _read(path: str, what: str, limit: int = -1) -> bytes:
    """The file's bytes (at most ``limit`` of them)."""
    try:
        with Path(path).open("rb") as fh:
            return fh.read(limit)
    except OSError as err:
        raise UsageError(f"Cannot read the {what} {path!r} ({err.strerror or err}).") from err


def cmd_import(args: argparse.Namespace) -> int:
    from sba.evidence.checks import MAX_PACKAGE_BYTES

    limit = MAX_PACKAGE_BYTES
    data = _read(args.file, "file", limit + 1)  # never more than the cap in memory
    attachments = [(Path(a).name, _read(a, "attachment", limit + 1)) for a in args.attach]
    with _session(args) as (store, me):
        _precheck(store, me.username, args, data, limit)
        from sba.requests.intake import (
            IntakeForm,
            Requester,
            import_geojson,
            import_package,
        )

        requester = Requester(args.requester, args.email, args.phone)
        records = _records(args)
        if Path(args.file).suffix.lower() == ".zip":
            if attachments:
                raise UsageError("A package carries its own attachments; --attach is for GeoJSON submissions.")
            rid = import_package(store, data, records, actor=me.username, requester=requester,
                                 filename=Path(args.file).name)
        else:
            form = IntakeForm(
                parcel_id=args.parcel_id, account_number=args.account, current_category=args.current_category,
                requester=requester, method_statement=args.method, imagery=args.imagery,
                single_family=args.confirmed, one_dwelling_unit=args.confirmed, one_account=args.confirmed,
                account_holder=args.confirmed,
            )
            rid = import_geojson(store, data, form, records, actor=me.username, attachments=attachments,
                                 filename=Path(args.file).name)
        req = store.get(rid)
    print(f"Imported request {rid}: tax lot {req.parcel_id}, {req.requester_name}, billed {req.current_category}, "
          f"claims {req.claimed_category or '-'} ({len(req.features)} features, {len(req.attachments())} attachments).")
    return 0


def _precheck(store, actor: str, args, data: bytes, limit: int) -> None:
    """Refuse (and audit) an oversized file or a bad package ZIP before the geometry libraries load (~1 s)."""
    from sba.evidence.checks import EvidencePackageError, read_checked

    name = Path(args.file).name
    msg = f"{name} is larger than {limit // 2**20} MB; a submission can be at most that." if len(data) > limit else ""
    if not msg and Path(args.file).suffix.lower() == ".zip":
        try:
            read_checked(data)
        except EvidencePackageError as err:
            msg = str(err)
    if msg:
        store.append_audit(actor, "import_refused", None, after={"file": name, "source": "package"},
                           detail=msg)
        raise UsageError(msg)


def cmd_list(args: argparse.Namespace) -> int:
    with _session(args) as (store, _me):
        rows = store.list(args.status)
    if args.format == "json":
        print_json(rows)
        return 0
    if not rows:
        print(f"No requests with status {args.status}." if args.status
              else "No requests yet (try 'sba requests seed-sample').")
        return 0
    print(f"{'#':>4}  {'tax lot':<9}{'requester':<20}{'billed':<10}{'claims':<10}{'status':<11}{'decided':<10}"
          f"{'effective':<12}submitted")
    for r in rows:
        print(f"{r['id']:>4}  {r['parcel_id']:<9}{r['requester_name'][:19]:<20}{r['current_category']:<10}"
              f"{r['claimed_category'] or '-':<10}{r['status']:<11}{r['decided_category'] or '-':<10}"
              f"{r['effective_date'] or '-':<12}{r['submitted_at']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from sba.requests.compare import compare_request

    records = _records(args)
    with _session(args) as (store, _me):
        req = store.get(args.id)
        cmp = compare_request(req, records)
        history = store.audit_log(args.id)
    if args.format == "json":
        data = {**{k: getattr(req, k) for k in req.__dataclass_fields__ if k not in ("features", "files")},
                "features": [{**f.__dict__} for f in req.features],
                "files": [{**f.__dict__} for f in req.files],
                "comparison": {**cmp.summary(), "features": [f.as_dict() for f in cmp.features]},
                "history": history}
        print_json(data)
        return 0
    print(f"Request {req.id} (version {req.version}): tax lot {req.parcel_id}, {req.address}")
    print(f"  requester {req.requester_name} <{req.requester_email}>, account {req.account_number}")
    print(f"  submitted {req.submitted_at}; status {req.status}"
          + (f", {req.decision} by {req.decided_by}: category {req.decided_category} from {req.effective_date}"
             if not req.is_open else ""))
    print(f"  reported: roofs {req.roofs_sqft:,}, driveway and parking {req.driveway_parking_sqft:,}, other "
          f"{req.other_sqft:,} sq ft; billed {req.current_category}, claims {req.claimed_category}")
    print(f"  method: {req.method_statement}")
    print()
    print(f"Compared with the City's record: record {cmp.record_whole:,} sq ft ({cmp.record_category}), request "
          f"{cmp.request_whole:,} sq ft ({cmp.request_category}), difference {cmp.difference_sqft:+,} sq ft")
    if cmp.crosses_threshold:
        print(f"  ! {cmp.threshold_note}")
    for n in cmp.notes:
        print(f"  note: {n}")
    print(f"  {'status':<9}{'#':>3}  {'type':<18}{'sq ft':>9}  {'record':<8}{'type':<14}{'sq ft':>9}{'IoU':>6}  note")
    for f in cmp.features:
        print(f"  {f.status:<9}{f.position or '':>3}  {f.request_type or '':<18}"
              f"{'' if f.request_sqft is None else f'{f.request_sqft:,.1f}':>9}  {f.record_feature or '':<8}"
              f"{f.record_type or '':<14}{'' if f.record_sqft is None else f'{f.record_sqft:,.1f}':>9}"
              f"{f.iou:>6.2f}  {f.note}")
    if req.files:
        print("Files: " + ", ".join(f"{f.name} ({f.kind}, {f.size_bytes:,} bytes)" for f in req.files))
    print("History:")
    for h in history:
        print(f"  {h['at']}  {h['actor']:<14}{h['action']:<16}{h['detail']}")
    return 0


def cmd_adjust(args: argparse.Namespace) -> int:
    from sba.requests.review import add_record_feature, adjust_feature

    records = _records(args)
    with _session(args) as (store, me):
        if args.add_record:
            version = add_record_feature(store, records, args.id, args.add_record, actor=me.username,
                                         reason=args.reason, expected_version=args.version)
            print(f"Added record feature {args.add_record} to request {args.id} (now version {version}).")
            return 0
        if args.feature is None:
            raise UsageError("Say which feature to change with --feature N (or add one with --add-record ID).")
        if args.remove and args.restore:
            raise UsageError("Use --remove or --restore, not both.")
        geometry = None
        if args.geometry:
            try:
                geometry = json.loads(_read(args.geometry, "outline file"))
            except ValueError as err:
                raise UsageError(f"{args.geometry!r} is not GeoJSON.") from err
            if geometry.get("type") == "FeatureCollection":
                geometry = (geometry.get("features") or [{}])[0].get("geometry")
            elif geometry.get("type") == "Feature":
                geometry = geometry.get("geometry")
        remove = True if args.remove else (False if args.restore else None)
        version = adjust_feature(store, records, args.id, args.feature, actor=me.username, reason=args.reason,
                                 expected_version=args.version, feature_type=args.feature_type,
                                 geometry=geometry, use_record=args.use_record, remove=remove)
    print(f"Changed feature {args.feature} of request {args.id} (now version {version}).")
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    from sba.requests.review import decide

    records = _records(args)
    if args.letter:  # a letter that could not be written is known before the decision is recorded
        _check_output(args, args.letter, LETTER_SUFFIXES)
    pdf = bool(args.letter and args.letter.lower().endswith(".pdf"))
    with _session(args) as (store, me):
        d = decide(store, records, args.id, args.decision, actor=me.username, reason=args.reason,
                   expected_version=args.version, pdf=True)
    change = (f"category {d.old_category} -> {d.new_category} from {d.effective_date}" if d.changed
              else f"category stays {d.old_category}")
    print(f"Request {d.request_id} {d.status} by {d.decided_by}: {change}.")
    if args.letter:
        _write_letter(args, args.letter, d.letter_pdf if pdf else d.letter_markdown.encode("utf-8"))
        print(f"Letter written to {args.letter}.")
    return 0


def _check_output(args: argparse.Namespace, path: str, suffixes: tuple[str, ...]) -> Path:
    """``path`` as a Path, refused if it does not end in one of ``suffixes`` or if it is the request
    database itself (an export written over it would lose every request)."""
    from sba.output import check_output_path

    return check_output_path(path, {"request database": str(args.db)}, suffixes)


def _write_output(args: argparse.Namespace, path: str, data: bytes, suffixes: tuple[str, ...]) -> None:
    """Write ``data`` to ``path`` (see :func:`_check_output`) whole or not at all."""
    from sba.output import write_atomic

    write_atomic(_check_output(args, path, suffixes), lambda tmp: tmp.write_bytes(data))


LETTER_SUFFIXES = (".md", ".pdf")


def _write_letter(args: argparse.Namespace, path: str, data: bytes | None) -> None:
    _write_output(args, path, data or b"", LETTER_SUFFIXES)


def cmd_letter(args: argparse.Namespace) -> int:
    kind = "letter_pdf" if args.out.lower().endswith(".pdf") else "letter_md"
    with _session(args) as (store, _me):
        req = store.get(args.id)
        found = store.latest_file(args.id, kind)
    if found is None:
        raise UsageError(f"Request {args.id} has no decision letter yet (it is {req.status}).")
    _write_letter(args, args.out, found[1])
    print(f"Letter for request {args.id} written to {args.out}.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _session(args) as (store, _me):
        if args.what == "audit":
            text = store.export_audit_csv(request_id=args.request)
        else:
            text = store.export_requests_csv()
    if args.out:
        _write_output(args, args.out, text.encode("utf-8"), (".csv",))
        print(f"Wrote {text.count(chr(10)) - 1} rows to {args.out}.")
    else:
        sys.stdout.write(text)
    return 0


def cmd_add_staff(args: argparse.Namespace) -> int:
    from sba.requests.auth import add_staff, staff_count

    with _store(args) as store:
        actor = None if staff_count(store) == 0 else _sign_in(args, store).username
        password = _password(args, f"Password for the new account {args.username}: ", twice=True)
        user = add_staff(store, args.username, password, display_name=args.name, admin=args.admin, actor=actor)
        where = store.db.display()
    print(f"Staff account {user.username!r} created{' (administrator)' if user.is_admin else ''} in {where}.")
    return 0


def cmd_add_token(args: argparse.Namespace) -> int:
    from sba.requests.tokens import create_token

    with _session(args) as (store, me):
        number, token = create_token(store, args.for_user, actor=me.username, label=args.label, days=args.days)
    print(f"API token {number} for {args.for_user.strip().lower()} (valid {args.days} days; it is not shown again):")
    print(token)
    return 0


def cmd_revoke_token(args: argparse.Namespace) -> int:
    from sba.requests.tokens import revoke_token

    with _session(args) as (store, me):
        revoke_token(store, args.token_id, actor=me.username)
    print(f"API token {args.token_id} revoked.")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    anchors = {}
    for text in args.anchor:
        row, _, digest = text.partition(":")
        if not row.strip().isdigit() or len(digest.strip()) != 64:
            raise UsageError(f"--anchor {text!r} is not ROW:HASH, like 42:3f9c... (the 64-character hash).")
        anchors[int(row)] = digest.strip().lower()
    with _session(args) as (store, _me):
        report = store.verify_audit(anchors)
        mismatches = store.verify_decisions()
    print(report.sentence())
    for line in mismatches:
        print(line)
    if mismatches:
        print(f"{len(mismatches)} decided request(s) were changed outside this tool.")
    return 0 if report.intact and not mismatches else EXIT_TAMPERED


def cmd_seed(args: argparse.Namespace) -> int:
    from sba.requests.sample_queue import seed_sample

    with _session(args) as (store, me):
        ids = seed_sample(store, actor=me.username)
        where = store.db.display()
    if ids:
        print(f"Imported sample requests {', '.join(map(str, ids))} into {where}.")
    else:
        print(f"The sample requests are already in {where}.")
    return 0
