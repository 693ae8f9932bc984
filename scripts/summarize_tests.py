"""Add up the test results of scripts/test.sh's steps and print one closing line: 'N passed, N failed', after one
line per skip reason (under CI=true the only skips left are tests another CI step runs: tests/ci.py)."""
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

folder = Path(sys.argv[1])
passed = failed = skipped = 0
reasons: Counter = Counter()
for xml in sorted(folder.glob("*.xml")):
    for suite in ET.parse(xml).getroot().iter("testsuite"):
        tests, fails = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skips = int(suite.get("skipped", 0))
        passed += tests - fails - skips
        failed += fails
        skipped += skips
        for case in suite.iter("testcase"):
            for skip in case.findall("skipped"):
                reasons[f"{xml.stem}: {skip.get('message', '').splitlines()[0] if skip.get('message') else '?'}"] += 1
for txt in sorted(folder.glob("*.txt")):  # "<passed> <failed>" written by non-pytest runners
    p, f = (int(v) for v in txt.read_text().split()[:2])
    passed += p
    failed += f
for reason, count in sorted(reasons.items()):
    print(f"skipped {count}: {reason}")
print(f"edge-kit: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
