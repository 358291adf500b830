#!/usr/bin/env python3
"""Turns what the service sent PostgreSQL in a bench run into a psql script
that sends it again, for `scripts/pg-ceiling`.

Reads a slice of PostgreSQL's log written with `log_statement = 'all'` and
`log_line_prefix = '%m [%p] [%a] %d '` (pg-ceiling sets both for the run),
keeps the sessions of database DB whose application name starts with
`order-service` (the bench names the service's sessions so), and writes
their statements with the values they were bound to:

- a transaction (BEGIN … COMMIT or ROLLBACK) is kept whole, and the
  transactions of all sessions go in the order their ends were logged
  (as each began; so, nearly, as PostgreSQL committed them): one client
  runs them one after another on the database as it was when the run
  began;
- a session's own settings (`SET …`) go before its transactions, and no
  other's: the client resets them whenever it takes over another session;
- a named prepared statement (diesel's cached ones) is prepared once and
  then executed with the values logged for it, as the service executed it;
- an unnamed one gets its values written in as literals, so PostgreSQL
  parses and plans it each time, as it did for the service.

Usage: replay.py LOG DB OUT.sql writes OUT.sql, and OUT.sql.failures (the
lines of the statements that failed in the run), and prints a one-line
JSON summary; replay.py check OUT.sql.failures ERRORS exits 1 when psql's
errors (its stderr) fell anywhere else.
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
    # Lines end at "\n" only: a value may hold a carriage return.
    with open(path, encoding="utf-8", errors="replace", newline="\n") as log:
        for line in log:
            line = line.rstrip("\n")
            match = PREFIX.match(line)
            if match:
                if current:
                    yield current
                current = list(match.groups())
            elif current and line.startswith("\t"):
                # PostgreSQL starts each later line of a message with a tab.
                current[4] += "\n" + line[1:]
            else:
                # Another format's (the log before and after the run's
                # settings): not the run's, nor are the lines after it.
                if current:
                    yield current
                current = None
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


def is_setting(text):
    """A session-wide setting (`SET …`, `set_config(…, false)`): it holds
    for what its session sends later, not for the others'."""
    upper = text.lstrip().upper()
    return (upper.startswith("SET ") and not upper.startswith(("SET LOCAL", "SET TRANSACTION"))) or (
        upper.startswith("SELECT SET_CONFIG(") and upper.rstrip("; ").endswith("FALSE)")
    )


def literal(statement):
    """The statement's text with its values written in."""
    values = statement["values"]
    return PARAM.sub(lambda m: values.get(int(m.group(1)), m.group(0)), statement["text"])


def render(statement, prepared, out):
    """Writes one statement; returns the lines it took."""
    text, values = statement["text"].rstrip().rstrip(";"), statement["values"]
    lines = []
    if statement["name"] is not None:
        if text not in prepared:
            prepared[text] = f"replayed_{len(prepared)}"
            lines.append(f"PREPARE {prepared[text]} AS {text};")
        arguments = ", ".join(values[n] for n in sorted(values))
        lines.append(f"EXECUTE {prepared[text]}({arguments});" if values else f"EXECUTE {prepared[text]};")
    else:
        lines.append(literal(statement).rstrip().rstrip(";") + ";")
    chunk = "\n".join(lines) + "\n"
    out.write(chunk)
    return chunk.count("\n")


def write(log_path, database, out_path):
    sessions = {}  # pid -> its open transaction, last statement, settings
    units = []  # (index of its end, pid, [statements])
    statements = 0
    run_errors = 0
    for index, (pid, application, db, level, message) in enumerate(entries(log_path)):
        if db != database or not application.startswith("order-service"):
            continue
        session = sessions.setdefault(pid, {"open": None, "last": None, "settings": []})
        if level == "ERROR":
            # Logged after the statement it answers (logged as it began).
            run_errors += 1
            if session["last"] is not None:
                session["last"]["failed"] = True
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
            if not match or message.startswith("execute fetch from"):
                continue
            name = match.group(1)
            statement = {"name": None if name == "<unnamed>" else name, "text": match.group(2), "values": {}}
        statement["failed"] = False
        statements += 1
        session["last"] = statement
        words = statement["text"].upper().replace(";", " ").split()
        word = words[0] if words else ""
        if session["open"] is None:
            if word in ("BEGIN", "START"):
                session["open"] = [statement]
            elif "set_config('application_name'" in statement["text"]:
                pass  # the session's name: nothing to PostgreSQL's work
            elif is_setting(statement["text"]):
                session["settings"].append((index, statement))
            else:
                units.append((index, pid, [statement]))
        else:
            session["open"].append(statement)
            ends = word in ("COMMIT", "END", "ABORT") or (word == "ROLLBACK" and "TO" not in words[1:3])
            if ends:
                units.append((index, pid, session["open"]))
                session["open"] = None
    unfinished = sum(1 for s in sessions.values() if s["open"])
    units.sort(key=lambda unit: unit[0])

    prepared = {}
    expected_failures = []  # [first line, last line] of the run's failed statements
    with open(out_path, "w", encoding="utf-8") as out:
        out.write("\\set ON_ERROR_STOP off\n")
        line = 2
        # What the client's own settings are: whose, and as which texts.
        current, current_texts, written_upto = None, None, -1
        for end, pid, unit in units:
            settings = [(at, setting) for at, setting in sessions[pid]["settings"] if at < end]
            texts = [literal(setting) for _, setting in settings]
            if pid != current:
                # The one client takes on this session's own settings (the
                # relay's `synchronous_commit = off` holds for its commits
                # only), as they stood then; nothing when they are the
                # same as the last session's.
                if texts != current_texts:
                    out.write("RESET ALL;\n")
                    line += 1
                    for _, setting in settings:
                        line += render(setting, prepared, out)
            else:
                # The same session: what it set since its last transaction.
                for at, setting in settings:
                    if at > written_upto:
                        line += render(setting, prepared, out)
            current, current_texts, written_upto = pid, texts, end
            for statement in unit:
                taken = render(statement, prepared, out)
                if statement["failed"]:
                    expected_failures.append([line, line + taken - 1])
                line += taken
    with open(out_path + ".failures", "w", encoding="utf-8") as failures:
        json.dump(expected_failures, failures)
    print(
        json.dumps(
            {
                "sessions": len(sessions),
                "transactions": sum(1 for _, _, unit in units if len(unit) > 1),
                "statements": statements,
                "unfinished_transactions": unfinished,
                "errors_in_run": run_errors,
                "prepared": len(prepared),
            }
        )
    )


def check(failures_path, errors_path):
    """Exits 1, naming them, when psql's errors (`psql:FILE:LINE: ERROR:`)
    fell on other statements than the run's own errors did."""
    with open(failures_path, encoding="utf-8") as failures:
        expected = json.load(failures)
    unexpected = []
    with open(errors_path, encoding="utf-8", errors="replace") as errors:
        for line in errors:
            match = re.match(r"^psql:[^:]*:(\d+): ERROR:", line)
            if match and not any(a <= int(match.group(1)) <= b for a, b in expected):
                unexpected.append(line.rstrip()[:300])
    for line in unexpected[:5]:
        print(line, file=sys.stderr)
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(*sys.argv[2:4])
    else:
        write(*sys.argv[1:4])
