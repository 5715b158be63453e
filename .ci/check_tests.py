#!/usr/bin/env python3
"""CI's last word on a ctest run: fails when any registered test did not
run to a pass or a failure (skipped with exit 77, not run, disabled), or
when the run holds fewer tests than ctest lists. Prints each such test with
the reason it gave.
usage: check_tests.py JUNIT_XML BUILD_DIR"""
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

junit, build = sys.argv[1], sys.argv[2]
listed = json.loads(subprocess.run(["ctest", "--test-dir", build, "--show-only=json-v1"],
                                   check=True, capture_output=True, text=True).stdout)
names = [t["name"] for t in listed["tests"]]
root = ET.parse(junit).getroot()
cases = {c.get("name"): c for c in root.iter("testcase")}

problems = []
for name in names:
    c = cases.get(name)
    if c is None:
        problems.append((name, "left out: not in this run"))
        continue
    status = c.get("status", "")
    skipped = c.find("skipped")
    if skipped is not None or status not in ("run", "fail"):
        why = ""
        out = c.find("system-out")
        if out is not None and out.text:
            why = " | ".join(l.strip() for l in out.text.splitlines() if "SKIPPED" in l)
        if not why and skipped is not None:
            why = skipped.get("message", "")
        problems.append((name, "%s: %s" % (status or "skipped", why or "no reason printed")))

print("check_tests: %d tests listed, %d in the run" % (len(names), len(cases)))
if problems:
    print("check_tests: %d tests did not run to a result; CI refuses skips:" % len(problems))
    for name, why in problems:
        print("  %s  (%s)" % (name, why))
    sys.exit(1)
print("check_tests: every test ran, none skipped")
