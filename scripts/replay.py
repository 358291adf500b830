#!/usr/bin/env python3
"""Turns what the service sent PostgreSQL in a bench run into a psql script
that sends it again, for `scripts/pg-ceiling`.

Reads a slice of PostgreSQL's log written with `log_statement = 'all'` and
`log_line_prefix = '%m [%p] [%a] %d '` (pg-ceiling sets both for the run),
keeps the sessions of database DB whose application name starts with
`order-service` (the bench names the service's sessions so), and writes
their statements with the values they were bound to:

- a transaction (BEGIN … COMMIT or ROLLBACK) is kept whole, and the
  transactions of all sessions go in the order of their ends, as
  PostgreSQL committed them: one client runs them one after another on the
  database as it was when the run began;
- a named prepared statement (diesel's cached ones) is prepared once and
  then executed with the values logged for it, as the service executed it;
- an unnamed one gets its values written in as literals, so PostgreSQL
  parses and plans it each time, as it did for the service.

Usage: replay.py LOG DB OUT.sql. Prints a one-line JSON summary.
"""

import json
import re
import sys

PREFIX = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[(\d+)\] \[(.*?)\] (\S*) ([A-Z]+):  (.*)$"
)
EXECUTE = re.compile(r"^execute ([^:]+): (.*)$", re.S)
PARAM = re.compile(r"\$(\d+)")


def entries(path):
    """(pid, application, database, level, message) per log entry, a
    message's later lines (a statement's or a value's newlines) joined."""
    current = None
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            line = line.rstrip("\n")
            match = PREFIX.match(line)
            if match:
                if current:
                    yield current
                current = list(match.groups())
            elif current:
                current[4] += "\n" + line
    if current:
        yield current


def parameters(detail):
    """The raw values of `parameters: $1 = '…', $2 = NULL`, quoted as
    PostgreSQL logged them (a quote inside doubled): literals as they are."""
    values = {}
    i = detail.index(":") + 1
    n = len(detail)
    while i < n:
        match = re.compile(r"\s*,?\s*\$(\d+) = ").match(detail, i)
        if not match:
            break
        number = int(match.group(1))
        i = match.end()
        if detail.startswith("NULL", i):
            values[number] = "NULL"
            i += 4
            continue
        assert detail[i] == "'", detail[i : i + 40]
        j = i + 1
        while True:
            j = detail.index("'", j)
            if j + 1 < n and detail[j + 1] == "'":
                j += 2
                continue
            break
        values[number] = detail[i : j + 1]
        i = j + 1
    return values


def main(log_path, database, out_path):
    sessions = {}  # pid -> {"open": unit or None}
    units = []  # (end index, [statements])
    statements = 0
    captured_errors = 0
    for index, (pid, application, db, level, message) in enumerate(entries(log_path)):
        if db != database or not application.startswith("order-service"):
            continue
        session = sessions.setdefault(pid, {"open": None, "last": None})
        if level == "ERROR":
            captured_errors += 1
            continue
        if level == "DETAIL" and message.lower().startswith("parameters:"):
            if session["last"] is not None:
                session["last"]["values"] = parameters(message)
            continue
        if level != "LOG":
            continue
        if message.startswith("statement: "):
            statement = {"name": None, "text": message[len("statement: ") :], "values": {}}
        else:
            match = EXECUTE.match(message)
            if not match:
                continue
            name = match.group(1)
            statement = {
                "name": None if name == "<unnamed>" else name,
                "text": match.group(2),
                "values": {},
            }
        statements += 1
        session["last"] = statement
        word = statement["text"].lstrip().split(None, 1)[0].upper().rstrip(";") if statement["text"].strip() else ""
        rest = statement["text"].upper()
        if session["open"] is None:
            if word in ("BEGIN", "START"):
                session["open"] = [statement]
            else:
                units.append((index, [statement]))
        else:
            session["open"].append(statement)
            if word in ("COMMIT", "END") or (word == "ROLLBACK" and " TO " not in rest):
                units.append((index, session["open"]))
                session["open"] = None
    unfinished = sum(1 for s in sessions.values() if s["open"])
    units.sort(key=lambda unit: unit[0])

    prepared = {}
    with open(out_path, "w", encoding="utf-8") as out:
        out.write("\\set ON_ERROR_STOP off\n")
        for _, unit in units:
            for statement in unit:
                text, values = statement["text"].rstrip().rstrip(";"), statement["values"]
                if statement["name"] is not None:
                    if text not in prepared:
                        prepared[text] = f"replayed_{len(prepared)}"
                        out.write(f"PREPARE {prepared[text]} AS {text};\n")
                    arguments = ", ".join(values[n] for n in sorted(values))
                    call = f"EXECUTE {prepared[text]}({arguments})" if values else f"EXECUTE {prepared[text]}"
                    out.write(call + ";\n")
                else:
                    out.write(PARAM.sub(lambda m: values.get(int(m.group(1)), m.group(0)), text) + ";\n")
    print(
        json.dumps(
            {
                "sessions": len(sessions),
                "transactions": sum(1 for _, unit in units if len(unit) > 1),
                "statements": statements,
                "unfinished_transactions": unfinished,
                "errors_in_run": captured_errors,
                "prepared": len(prepared),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
