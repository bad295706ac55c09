#!/usr/bin/env python3
"""Reads `wrk --latency` output on stdin; prints "requests/s p50_ms p99_ms", or fails when a request did not answer 2xx/3xx."""
import re
import sys

text = sys.stdin.read()


def ms(label):
    match = re.search(r"^\s*" + label + r"%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not match:
        sys.exit("wrk printed no latency distribution:\n" + text)
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit("the route answered errors: " + errors.group(1))
socket_errors = re.search(r"Socket errors: .*", text)
if socket_errors:
    sys.exit("wrk saw " + socket_errors.group(0))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
print(f"{rps:.0f} {ms('50'):.2f} {ms('99'):.2f}")
