#!/usr/bin/env python3
"""The DuckDB side of `whistle bench reports`: compute the monthly evaluation and ranking and the
daily bulletin's volumes from the raw rows Whistle exported, time them (median of --runs, data
already loaded in memory), check the results equal Whistle's, and print the figures as one JSON
line. Run by `whistle bench reports --duckdb-python PYTHON`; needs `pip install duckdb`.
"""

import argparse
import json
import statistics
import sys
import time

import duckdb

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import evaluation_crosscheck as evaluation  # noqa: E402

BULLETIN = {
    "types": "SELECT request_type, COUNT(*) FROM i WHERE day = ? GROUP BY 1",
    "channels": "SELECT channel, COUNT(*) FROM i WHERE day = ? GROUP BY 1",
    "categories": "SELECT split_part(category, '.', 1), COUNT(*) FROM i WHERE day = ? GROUP BY 1",
    "districts": "SELECT district, COUNT(*) FROM i WHERE day = ? GROUP BY 1",
    "top_streets": "SELECT street, COUNT(*) AS n FROM i WHERE day = ? AND street <> '' "
    "GROUP BY 1 ORDER BY n DESC, street LIMIT 10",
    "emergencies": "SELECT no FROM i WHERE day = ? AND urgency = 'emergency' "
    "ORDER BY received_at_ms, no LIMIT 50",
}
# The comparison columns: the same breakdowns on the day before.
BEFORE = {
    "categories_before": BULLETIN["categories"],
    "districts_before": BULLETIN["districts"],
}


def bulletin(db, day, previous):
    out = {name: db.execute(sql, [day]).fetchall() for name, sql in BULLETIN.items()}
    out.update({name: db.execute(sql, [previous]).fetchall() for name, sql in BEFORE.items()})
    return out


def cells(table):
    """A table's rows as lists in column order (in JSON each row is an object under the columns' keys)."""
    keys = [column["key"] for column in table["columns"]]
    return {**table, "rows": [[row[key] for key in keys] for row in table["rows"]]}


def check_bulletin(mine, path):
    with open(path, encoding="utf-8") as handle:
        theirs = {table["name"]: cells(table) for table in json.load(handle)["tables"]}
    problems = []
    for name in ["types", "channels", "categories", "districts"]:
        expected = {str(k): int(v) for k, v in mine[name]}
        got = {str(row[0]): int(row[2]) for row in theirs[name]["rows"]}
        if expected != got:
            problems.append(f"{name}: {got} vs {expected}")
        if name in ("categories", "districts"):
            before = {str(k): int(v) for k, v in mine[name + "_before"]}
            got = {str(row[0]): int(row[4]) for row in theirs[name]["rows"]}
            want = {k: before.get(k, 0) for k in expected}
            if got != want:
                problems.append(f"{name} (day before): {got} vs {want}")
    streets = [(str(k), int(v)) for k, v in mine["top_streets"]]
    got = [(str(row[1]), int(row[4])) for row in theirs["top_streets"]["rows"]]
    if streets != got:
        problems.append(f"top streets: {got} vs {streets}")
    emergencies = [str(k) for (k,) in mine["emergencies"]]
    got = [str(row[0]) for row in theirs["emergencies"]["rows"]]
    if emergencies != got:
        problems.append(f"emergencies: {len(got)} vs {len(emergencies)}")
    return problems


def timed(runs, work):
    samples = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", required=True)
    parser.add_argument("--evaluation", required=True)
    parser.add_argument("--intake", required=True)
    parser.add_argument("--bulletin", required=True)
    parser.add_argument("--period", required=True)
    parser.add_argument("--date", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--start-day", type=int, default=1)
    parser.add_argument("--weights", default="0.1,0.5,0.4")
    parser.add_argument("--factor", default="0.9")
    parser.add_argument("--min-visits", type=int, default=5)
    args = parser.parse_args()
    weights = tuple(evaluation.Fraction(w) for w in args.weights.split(","))
    factor = evaluation.Fraction(args.factor)
    first, before = evaluation.period_days(args.period, args.start_day)

    db = evaluation.load_orders(args.orders)
    order_rows = db.execute("SELECT COUNT(*) FROM o").fetchone()[0]
    # The counts from each order's history rows (DuckDB), the rates and ranks exact (fractions).
    evaluation_ms, mine = timed(
        args.runs,
        lambda: evaluation.evaluate(
            evaluation.unit_counts(db, "o", first, before), {}, weights, factor, args.min_visits
        ),
    )
    # The change needs the previous month's rows; the evaluation check in CI compares it.
    problems = [p for p in evaluation.compare(mine, args.evaluation) if ": change " not in p]

    db.execute(
        "CREATE TABLE i AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
        [args.intake],
    )
    for (column,) in db.execute("SELECT column_name FROM (DESCRIBE i)").fetchall():
        db.execute(f'UPDATE i SET "{column}" = COALESCE("{column}", \'\')')
    db.execute("ALTER TABLE i ALTER received_at_ms TYPE BIGINT")
    intake_rows = db.execute("SELECT COUNT(*) FROM i").fetchone()[0]
    import datetime

    day = datetime.date.fromisoformat(args.date)
    previous = (day - datetime.timedelta(days=1)).isoformat()
    daily_ms, result = timed(args.runs, lambda: bulletin(db, args.date, previous))
    problems += check_bulletin(result, args.bulletin)

    if problems:
        print(f"{len(problems)} differences:", *problems[:40], sep="\n  ")
        return 1
    print(
        json.dumps(
            {
                "duckdb": duckdb.__version__,
                "order_rows": order_rows,
                "intake_rows": intake_rows,
                "evaluation_ms": evaluation_ms,
                "daily_ms": daily_ms,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
