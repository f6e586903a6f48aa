"""``sba rates``: the bundled rate schedules, or what one of them charges (read from its file)."""

from __future__ import annotations

import argparse

from sba.cli.args import print_json

__all__ = ["cmd_rates", "register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sba rates`` to the sub-commands."""
    r = sub.add_parser("rates", help="list the bundled rate schedules, or show one's rates",
                       description="List the bundled rate schedules with their effective dates and sources; "
                                   "with a NAME, show what that schedule charges.")
    r.add_argument("name", nargs="?", default=None, help="a schedule name (or .toml file) to show its rates")
    r.add_argument("--format", choices=["text", "json"], default="text")
    r.set_defaults(func=cmd_rates)


def cmd_rates(args: argparse.Namespace) -> int:
    """``sba rates``: list the bundled rate schedules, or print the rates and categories of one."""
    from categorize import available_schedules, load_schedule
    from categorize.schedule import rate_lines

    if args.name is not None:  # an empty name is refused, as --rates "" is
        s = load_schedule(args.name)
        lines = rate_lines(s)
        categories = [{"name": c.name, "max_sqft": c.max_sqft, "billed_sqft": c.billed_sqft,
                       "verified": bool(c.verified)} for c in s.categories]
        if args.format == "json":
            print_json({"name": s.name, "utility": s.utility, "effective": str(s.effective),
                        "verified": bool(s.verified), "source": s.source,
                        "charges": [{"charge": c, "rate": r} for c, r in lines], "categories": categories})
            return 0
        print(f"{s.title}: effective {s.effective}, {'verified' if s.verified else 'UNVERIFIED'}, {s.source}")
        for charge, rate in lines:
            print(f"  {charge:<52} {rate}")
        below = 0
        for c in categories:
            band = f"up to {c['max_sqft']:,} sq ft" if c["max_sqft"] is not None else f"above {below:,} sq ft"
            below = c["max_sqft"] or below
            billed = "" if c["billed_sqft"] is None else f", billed as {c['billed_sqft']:,} sq ft"
            print(f"  category {c['name']:<10} {band}{billed}{'' if c['verified'] else ' (placeholder)'}")
        return 0
    rows = []
    for name in available_schedules():
        s = load_schedule(name)
        rows.append({"name": name, "utility": s.utility, "effective": str(s.effective),
                     "verified": bool(s.verified), "source": s.source})
    if args.format == "json":
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['name']:<28} {r['utility']:<36} effective {r['effective']}  "
                  f"{'verified' if r['verified'] else 'UNVERIFIED'}  {r['source']}")
    return 0
