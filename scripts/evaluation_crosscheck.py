#!/usr/bin/env python3
"""Independent check of the evaluation (一张卷子): recompute every unit's counts, three rates,
composite and rank from the raw order rows with DuckDB, and compare with Whistle's report.

    whistle export orders --period 2026-10 --format csv > orders.csv
    whistle report evaluation --period 2026-10 --format csv > evaluation.csv
    python3 scripts/evaluation_crosscheck.py orders.csv evaluation.csv --period 2026-10

Needs `pip install duckdb`. Defaults are DOMAIN §5's (weights 0.1/0.5/0.4, factor 0.9,
calendar months); pass the policy's values if they were changed. Exits 1 on any difference.
"""

import argparse
import datetime
import sys

import duckdb


def period_days(period: str, start_day: int):
    year, month = (int(part) for part in period.split("-"))
    first = datetime.date(year, month, 1)
    following = datetime.date(year + (month == 12), month % 12 + 1, 1)
    if start_day == 1:
        return first, following
    previous = datetime.date(year - (month == 1), (month - 2) % 12 + 1, 1)
    return previous.replace(day=start_day), first.replace(day=start_day)


def load_orders(path: str):
    """The raw order rows in an in-memory DuckDB database (table `o`)."""
    db = duckdb.connect()
    db.execute(
        "CREATE TABLE o AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
        [path],
    )
    # Empty fields read as NULL; the comparisons below want empty strings.
    for (column,) in db.execute("SELECT column_name FROM (DESCRIBE o)").fetchall():
        db.execute(f'UPDATE o SET "{column}" = COALESCE("{column}", \'\')')
    return db


def evaluate(db, first, before, weights, factor, count_by="return_visit"):
    """Every unit's counts, composite and rank from the raw rows: (group, unit, *counts,
    composite, rank) in group and unit order."""
    w_response, w_resolution, w_satisfaction = weights
    # Each order counts once for its dispatch and once for its visit, for its lead unit and —
    # rolled up — for the lead unit's district: on the dispatch and visit days (by return visit)
    # or both on the day it was received (by receipt).
    dispatch_on, visit_on = {
        "return_visit": ("dispatch_day", "visit_day"),
        "received": ("received_day", "received_day"),
    }[count_by]
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cells AS
        WITH rows AS (
            SELECT unit, unit_group, district, category,
                   (dispatch_day <> '' AND {dispatch_on} >= ? AND {dispatch_on} < ?)::INT AS dispatched,
                   (visit_day <> '' AND {visit_on} >= ? AND {visit_on} < ?) AS in_period,
                   visit, contacted, contacted_in_time, resolved, satisfaction, excluded
            FROM o
        ),
        counted AS (
            SELECT unit, unit_group, district, category, dispatched,
                   (in_period AND excluded = 'false' AND visit = 'valid')::INT AS visits,
                   (in_period AND excluded = 'false' AND visit = 'invalid')::INT AS invalid_visits,
                   (in_period AND excluded = 'false' AND visit = 'valid' AND contacted = 'true'
                       AND contacted_in_time = 'true')::INT AS responded,
                   (in_period AND excluded = 'false' AND visit = 'valid' AND resolved = 'true')::INT AS resolved,
                   (in_period AND excluded = 'false' AND satisfaction = 'satisfied')::INT AS satisfied,
                   (in_period AND excluded = 'false' AND satisfaction = 'basically_satisfied')::INT AS basically,
                   (in_period AND excluded = 'false' AND satisfaction = 'dissatisfied')::INT AS dissatisfied,
                   (in_period AND excluded = 'true' AND visit <> '')::INT AS excluded_count
            FROM rows
        )
        SELECT unit, unit_group, category, dispatched, visits, invalid_visits, responded, resolved,
               satisfied, basically, dissatisfied, excluded_count FROM counted
        UNION ALL
        SELECT district, 'districts', category, dispatched, visits, invalid_visits, responded, resolved,
               satisfied, basically, dissatisfied, excluded_count
        FROM counted WHERE district <> '' AND district <> unit
        """,
        [first.isoformat(), before.isoformat(), first.isoformat(), before.isoformat()],
    )
    return db.execute(
        """
        WITH units AS (
            SELECT unit, unit_group,
                   SUM(dispatched) AS dispatched, SUM(visits) AS visits,
                   SUM(invalid_visits) AS invalid_visits, SUM(responded) AS responded,
                   SUM(resolved) AS resolved, SUM(satisfied) AS satisfied,
                   SUM(basically) AS basically, SUM(dissatisfied) AS dissatisfied,
                   SUM(excluded_count) AS excluded
            FROM cells WHERE unit_group <> '' GROUP BY unit, unit_group
        ),
        rated AS (
            SELECT *, CASE WHEN visits > 0 THEN
                ? * responded / visits + ? * resolved / visits
                + ? * (satisfied + ? * basically) / visits END AS composite
            FROM units
            WHERE dispatched + visits + invalid_visits + excluded > 0
        )
        SELECT unit_group, unit, dispatched, visits, invalid_visits, responded, resolved,
               satisfied, basically, dissatisfied, excluded, composite,
               CASE WHEN composite IS NOT NULL THEN
                   RANK() OVER (PARTITION BY unit_group, composite IS NULL
                                ORDER BY ROUND(composite * 1e9) DESC) END AS rank
        FROM rated ORDER BY unit_group, unit
        """,
        [w_response, w_resolution, w_satisfaction, factor],
    ).fetchall()



def compare(mine, evaluation_path):
    """Differences between DuckDB's rows and Whistle's evaluation CSV."""
    theirs = {}
    with open(evaluation_path, encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
        for line in handle:
            row = dict(zip(header, line.rstrip("\n").split(",")))
            theirs[row["unit"]] = row

    problems = []
    fields = ["dispatched", "visits", "invalid_visits", "responded", "resolved", "satisfied",
              "basically_satisfied", "dissatisfied", "excluded"]
    for (group, unit, *counts, composite, rank) in mine:
        row = theirs.pop(unit, None)
        if row is None:
            problems.append(f"{unit}: missing from Whistle's report")
            continue
        if row["group"] != group:
            problems.append(f"{unit}: group {row['group']} vs {group}")
        for name, value in zip(fields, counts):
            if int(row[name]) != int(value):
                problems.append(f"{unit}: {name} {row[name]} vs {value}")
        expected_rank = "" if rank is None else str(int(rank))
        if row["rank"] != expected_rank:
            problems.append(f"{unit}: rank {row['rank']} vs {expected_rank}")
        if composite is None:
            if row["composite"] != "":
                problems.append(f"{unit}: composite {row['composite']} without valid visits")
        elif abs(float(row["composite"]) - composite) > 5.01e-5:
            problems.append(f"{unit}: composite {row['composite']} vs {composite:.6f}")
    for unit in theirs:
        problems.append(f"{unit}: in Whistle's report only")

    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("orders")
    parser.add_argument("evaluation")
    parser.add_argument("--period", required=True)
    parser.add_argument("--start-day", type=int, default=1)
    parser.add_argument("--weights", default="0.1,0.5,0.4")
    parser.add_argument("--factor", type=float, default=0.9)
    parser.add_argument("--count-by", choices=["return_visit", "received"], default="return_visit")
    args = parser.parse_args()
    w_response, w_resolution, w_satisfaction = (float(w) for w in args.weights.split(","))
    first, before = period_days(args.period, args.start_day)

    db = load_orders(args.orders)
    mine = evaluate(
        db, first, before, (w_response, w_resolution, w_satisfaction), args.factor, args.count_by
    )
    problems = compare(mine, args.evaluation)
    ranked = sum(1 for row in mine if row[-1] is not None)
    if problems:
        print(f"{len(problems)} differences:", *problems[:40], sep="\n  ")
        return 1
    print(
        f"evaluation {args.period} (by {args.count_by}): {len(mine)} units ({ranked} ranked) "
        "match DuckDB exactly"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
