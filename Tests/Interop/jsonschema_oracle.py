#!/usr/bin/env python3
"""Reference answers for agentbox's JSON Schema validator, from Python's jsonschema (PyPI).

usage: jsonschema_oracle.py FILE
       jsonschema_oracle.py --formats

FILE holds one JSON object per line: {"schema": ..., "instance": ...}. For each line this prints
`true` or `false`: whether Draft202012Validator (with its format checker, so `format` is asserted)
accepts the instance. A schema that fails Draft202012Validator.check_schema prints
`schema-error: MESSAGE` instead. `--formats` prints the formats the checker asserts here, one a line.
"""
import json
import sys

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError


def main(argv):
    checker = Draft202012Validator.FORMAT_CHECKER
    if argv[1:] == ["--formats"]:
        for name in sorted(checker.checkers):
            print(name)
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            pair = json.loads(line)
            schema = pair["schema"]
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as error:
                print("schema-error: " + " ".join(error.message.split()))
                continue
            validator = Draft202012Validator(schema, format_checker=checker)
            print("true" if validator.is_valid(pair["instance"]) else "false")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
