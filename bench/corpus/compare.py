"""One corpus row: verify's verdict (JSON) beside the bare truth.

  compare.py VERDICT.json DECISION FAILING TESTS COVERAGE

DECISION is ready or not-ready; FAILING the gates the truth fails, comma-separated
(- for none); TESTS the tests that ran; COVERAGE the line coverage in percent (- when
the truth does not measure it). Prints: verify's decision, its failing gates, its test
count and coverage, and "agree" or what differs. Coverage agrees within 1 point.
"""
import json
import sys

path, decision, failing, tests, coverage = sys.argv[1:6]
try:
    with open(path) as file:
        verdict = json.load(file)
except (OSError, ValueError):
    print("(no verdict)  -  -  -  verify gave no verdict")
    sys.exit(0)
gates = {gate["metric"]: gate for gate in verdict.get("gates", [])}
got_decision = "ready" if verdict.get("mergeReady") else "not-ready"
got_failing = sorted(m for m, g in gates.items() if g["status"] == "failed" and g.get("blocking", True))
got_tests = gates.get("tests-ran", {}).get("actual")
got_coverage = gates.get("line-coverage", {}).get("actual")
want_failing = sorted(f for f in failing.split(",") if f and f != "-")
differences = []
if got_decision != decision:
    differences.append("decision")
if got_failing != want_failing:
    differences.append("gates " + ",".join(got_failing or ["-"]))
# No test report and a report of no test both say that no test ran.
if tests != "-" and (got_tests or 0) != int(tests):
    differences.append(f"tests {got_tests}")
if coverage != "-" and (got_coverage is None or abs(got_coverage - float(coverage)) > 1):
    differences.append(f"coverage {got_coverage}")
shown_coverage = "-" if got_coverage is None else f"{got_coverage:.1f}"
print(f"{got_decision:<9} {','.join(got_failing) or '-':<28} {got_tests!s:<12} {shown_coverage:<14} "
      + ("agree" if not differences else "differs: " + "; ".join(differences)))
