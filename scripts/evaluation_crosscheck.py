#!/usr/bin/env python3
"""Independent check of the evaluation (一张卷子): recompute every unit's counts, three rates,
composite, rank, sample flag, co-handling figure and month-on-month change from the raw rows of
`whistle export orders` (each order's history: dispatch rounds, co-handlers' parts, visits) with
DuckDB and exact fractions, and compare with Whistle's report.

    whistle export orders --period 2026-10 --format csv > orders.csv
    whistle export orders --period 2026-09 --format csv > previous.csv
    whistle report evaluation --period 2026-10 --format csv > evaluation.csv
    python3 scripts/evaluation_crosscheck.py orders.csv evaluation.csv --period 2026-10 \
        --previous previous.csv

The rules, from the rows alone:
- a `dispatch` row that is not a rework counts as a dispatch for its unit on its day, unless an
  upheld objection overturned it (`overturned_at`);
- a `visit` row counts for its unit on its day; its response is the contact of *its own round*
  (the `dispatch` row with the same order and round) being in time; an order with an
  unreasonable ruling turns each of its visits into an exclusion;
- a `part` row is a co-handler's part owed on the day of the lead's reply, in time when reported
  after the round's dispatch and no later than the reply and the round's handling deadline;
- districts add up their units' counts; ranks compare the exact composites (fractions), within
  peer groups, only among units with at least --min-visits valid visits; a change is stated
  only where both months have that many.

Needs `pip install duckdb`. Defaults are DOMAIN §5's (weights 0.1/0.5/0.4, factor 0.9,
calendar months, minimum 5 valid visits); pass the policy's values if they were changed.
Exits 1 on any difference.
"""

import argparse
import datetime
import sys
from fractions import Fraction

import duckdb

COUNTS = ["dispatched", "visits", "invalid_visits", "responded", "resolved", "satisfied",
          "basically_satisfied", "dissatisfied", "excluded", "parts_owed", "parts_in_time"]


def period_days(period: str, start_day: int):
    year, month = (int(part) for part in period.split("-"))
    first = datetime.date(year, month, 1)
    following = datetime.date(year + (month == 12), month % 12 + 1, 1)
    if start_day == 1:
        return first, following
    previous = datetime.date(year - (month == 1), (month - 2) % 12 + 1, 1)
    return previous.replace(day=start_day), first.replace(day=start_day)


def previous_period(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


def load_orders(path: str, table: str = "o"):
    """The raw rows in an in-memory DuckDB database (one table)."""
    db = duckdb.connect()
    load_into(db, path, table)
    return db


def load_into(db, path: str, table: str):
    db.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
        [path],
    )
    # Empty fields read as NULL; the comparisons below want empty strings.
    for (column,) in db.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall():
        db.execute(f'UPDATE {table} SET "{column}" = COALESCE("{column}", \'\')')


def unit_counts(db, table, first, before, count_by="return_visit"):
    """{unit: (group, {count: n})} for the days [first, before), districts rolled up."""
    day = "received_day" if count_by == "received" else "substr(r.at, 1, 10)"
    rows = db.execute(
        f"""
        WITH d AS (SELECT * FROM {table} WHERE kind = 'dispatch'),
        r AS (
            SELECT r.*, d.at AS round_at, d.contacted_in_time AS round_in_time
            FROM {table} r LEFT JOIN d ON d.no = r.no AND d.round = r.round
        ),
        counted AS (
            SELECT r.unit, r.unit_group, r.district,
                (kind = 'dispatch' AND rework = 'false' AND overturned_at = '')::INT AS dispatched,
                (kind = 'visit' AND unreasonable_at = '' AND visit = 'valid')::INT AS visits,
                (kind = 'visit' AND unreasonable_at = '' AND visit = 'invalid')::INT AS invalid_visits,
                (kind = 'visit' AND unreasonable_at = '' AND visit = 'valid' AND contacted = 'true'
                    AND round_in_time = 'true')::INT AS responded,
                (kind = 'visit' AND unreasonable_at = '' AND resolved = 'true')::INT AS resolved,
                (kind = 'visit' AND unreasonable_at = '' AND satisfaction = 'satisfied')::INT AS satisfied,
                (kind = 'visit' AND unreasonable_at = '' AND satisfaction = 'basically_satisfied')::INT AS basically,
                (kind = 'visit' AND unreasonable_at = '' AND satisfaction = 'dissatisfied')::INT AS dissatisfied,
                (kind = 'visit' AND unreasonable_at <> '')::INT AS excluded,
                (kind = 'part')::INT AS parts_owed,
                (kind = 'part' AND part_at <> '' AND part_at >= round_at
                    AND part_at <= replied_at AND part_at <= handle_by)::INT AS parts_in_time
            FROM r WHERE {day} >= ? AND {day} < ?
        ),
        rolled AS (
            SELECT unit, unit_group, * EXCLUDE (unit, unit_group, district) FROM counted
            UNION ALL
            SELECT district, 'districts', * EXCLUDE (unit, unit_group, district)
            FROM counted WHERE district <> '' AND district <> unit
        )
        SELECT unit, unit_group, SUM(dispatched), SUM(visits), SUM(invalid_visits),
               SUM(responded), SUM(resolved), SUM(satisfied), SUM(basically), SUM(dissatisfied),
               SUM(excluded), SUM(parts_owed), SUM(parts_in_time)
        FROM rolled WHERE unit_group <> '' GROUP BY unit, unit_group ORDER BY unit_group, unit
        """,
        [first.isoformat(), before.isoformat()],
    ).fetchall()
    out = {}
    for unit, group, *values in rows:
        counts = dict(zip(COUNTS, (int(v) for v in values)))
        if any(counts.values()):
            out[unit] = (group, counts)
    return out


def rates(counts, weights, factor):
    """The three rates and the composite as exact fractions, or None without valid visits."""
    visits = counts["visits"]
    if visits <= 0:
        return None
    response = Fraction(counts["responded"], visits)
    resolution = Fraction(counts["resolved"], visits)
    satisfaction = (counts["satisfied"] + factor * counts["basically_satisfied"]) / visits
    w_response, w_resolution, w_satisfaction = weights
    composite = w_response * response + w_resolution * resolution + w_satisfaction * satisfaction
    return response, resolution, satisfaction, composite


def evaluate(units, previous, weights, factor, min_visits):
    """Every unit's line: group, counts, rates, rank, sample flag, co-handling, change."""
    lines = {}
    for unit, (group, counts) in units.items():
        r = rates(counts, weights, factor)
        insufficient = counts["visits"] < min_visits
        before = previous.get(unit)
        change = None
        if r is not None and not insufficient and before and before[1]["visits"] >= min_visits:
            change = r[3] - rates(before[1], weights, factor)[3]
        lines[unit] = {
            "group": group, "counts": counts, "rates": r, "insufficient": insufficient,
            "co_handling": Fraction(counts["parts_in_time"], counts["parts_owed"])
            if counts["parts_owed"] else None,
            "change": change, "rank": None,
        }
    # Competition ranking on exact fractions: equal only when equal.
    groups = {}
    for unit, line in lines.items():
        if line["rates"] is not None and not line["insufficient"]:
            groups.setdefault(line["group"], []).append((line["rates"][3], unit))
    for members in groups.values():
        members.sort(key=lambda m: (-m[0], m[1]))
        for position, (composite, unit) in enumerate(members, start=1):
            ahead = [m for m in members if m[0] > composite]
            lines[unit]["rank"] = len(ahead) + 1
    return lines


def compare(lines, evaluation_path):
    """Differences between the recomputed lines and Whistle's evaluation CSV."""
    theirs = {}
    with open(evaluation_path, encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
        for line in handle:
            row = dict(zip(header, line.rstrip("\n").split(",")))
            theirs[row["unit"]] = row
    problems = []

    def near(name, unit, got, want):
        if want is None:
            if got != "":
                problems.append(f"{unit}: {name} {got} where none is due")
        elif got == "" or abs(float(got) - float(want)) > 5.01e-5:
            problems.append(f"{unit}: {name} {got} vs {float(want):.6f}")

    for unit, line in sorted(lines.items()):
        row = theirs.pop(unit, None)
        if row is None:
            problems.append(f"{unit}: missing from Whistle's report")
            continue
        if row["group"] != line["group"]:
            problems.append(f"{unit}: group {row['group']} vs {line['group']}")
        for name, value in line["counts"].items():
            if int(row[name]) != value:
                problems.append(f"{unit}: {name} {row[name]} vs {value}")
        rank = "" if line["rank"] is None else str(line["rank"])
        if row["rank"] != rank:
            problems.append(f"{unit}: rank {row['rank']} vs {rank}")
        if row["insufficient"] != str(line["insufficient"]).lower():
            problems.append(f"{unit}: insufficient {row['insufficient']} vs {line['insufficient']}")
        r = line["rates"] or (None, None, None, None)
        for name, value in zip(["response_rate", "resolution_rate", "satisfaction_rate",
                                "composite"], r):
            near(name, unit, row[name], value)
        near("change", unit, row["change"], line["change"])
        near("co_handling_rate", unit, row["co_handling_rate"], line["co_handling"])
    for unit in theirs:
        problems.append(f"{unit}: in Whistle's report only")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("orders")
    parser.add_argument("evaluation")
    parser.add_argument("--period", required=True)
    parser.add_argument("--previous", help="the previous period's export, to check the change")
    parser.add_argument("--start-day", type=int, default=1)
    parser.add_argument("--weights", default="0.1,0.5,0.4")
    parser.add_argument("--factor", default="0.9")
    parser.add_argument("--min-visits", type=int, default=5)
    parser.add_argument("--count-by", choices=["return_visit", "received"], default="return_visit")
    args = parser.parse_args()
    weights = tuple(Fraction(w) for w in args.weights.split(","))
    factor = Fraction(args.factor)
    first, before = period_days(args.period, args.start_day)

    db = load_orders(args.orders)
    units = unit_counts(db, "o", first, before, args.count_by)
    previous = {}
    if args.previous:
        load_into(db, args.previous, "p")
        p_first, p_before = period_days(previous_period(args.period), args.start_day)
        previous = unit_counts(db, "p", p_first, p_before, args.count_by)
    lines = evaluate(units, previous, weights, factor, args.min_visits)
    problems = compare(lines, args.evaluation)
    if not args.previous:
        problems = [p for p in problems if ": change " not in p]
    ranked = sum(1 for line in lines.values() if line["rank"] is not None)
    ties = len(lines) and sum(
        1 for line in lines.values()
        if line["rank"] is not None
        and sum(1 for other in lines.values()
                if other["group"] == line["group"] and other["rank"] == line["rank"]) > 1
    )
    changes = sum(1 for line in lines.values() if line["change"] is not None)
    if problems:
        print(f"{len(problems)} differences:", *problems[:40], sep="\n  ")
        return 1
    print(
        f"evaluation {args.period} (by {args.count_by}): {len(lines)} units ({ranked} ranked, "
        f"{ties} in exact ties, {changes} changes checked) match DuckDB exactly"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
