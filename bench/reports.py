#!/usr/bin/env python3
"""make bench: the supervisor's peak memory while it reads hostile reports.

usage: reports.py SANDBOX

A step writes a JUnit report built to be expensive within the caps: as many test
cases as the element cap allows (400 000) under suites nested as deep as the reader
allows, with names of 4000 bytes; and as many test cases in one flat suite. `sandbox verify` reads each; its peak resident set (the
supervisor's, which runs outside every cgroup) is printed. Target: 256 MiB or less. Fails when a run exceeds the target or gives
no verdict.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

TARGET = 256 << 20
CAP = 64 << 20
# XMLReader.maximumElements: the flat report holds as many test cases as are read.
ELEMENTS = 400_000

# Each writer is Python run in the sandbox; it writes /workspace/.sandbox/reports/junit.xml.
WRITERS = {
    "nested suites": f"""
import os
os.makedirs("/workspace/.sandbox/reports", exist_ok=True)
depth, name = 254, "n" * 4000
head = "".join(f'<testsuite name="{{name}}{{i}}">' for i in range(depth))
tail = "</testsuite>" * depth
case = '<testcase name="t"/>' * 1000
with open("/workspace/.sandbox/reports/junit.xml", "w") as out:
    out.write("<testsuites>" + head)
    for _ in range({ELEMENTS} // 1000 - 1):
        out.write(case)
    out.write(tail + "</testsuites>")
""",
    "flat cases": f"""
import os
os.makedirs("/workspace/.sandbox/reports", exist_ok=True)
case = '<testcase name="t" classname="c" time="0"/>' * 1000
with open("/workspace/.sandbox/reports/junit.xml", "w") as out:
    out.write("<testsuites><testsuite name='s'>")
    for _ in range({ELEMENTS} // 1000 - 1):
        out.write(case)
    out.write("</testsuite></testsuites>")
""",
}


def main():
    sandbox = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="sandbox-bench-reports-")
    os.chmod(work, 0o755)
    failed = False
    try:
        policies, images, tree = (os.path.join(work, name) for name in ("policies", "images", "tree"))
        for directory in (policies, images, tree):
            os.makedirs(directory)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        shutil.copy(os.path.join(root, "policies", "defaults.yaml"), policies)
        with open(os.path.join(images, "shell.yaml"), "w") as image:
            image.write("image: shell\nrequires: [/usr/bin/python3]\n")
        open(os.path.join(tree, "reports.txt"), "w").close()
        os.chmod(tree, 0o755)
        print(f"{'report':16} {'peak RSS MiB':>13}   what was read (target <= {TARGET >> 20} MiB)")
        for label, writer in WRITERS.items():
            with open(os.path.join(policies, "reports.yaml"), "w") as policy:
                policy.write(
                    "language: reports\ndetect: [reports.txt]\nimage: shell\nsteps:\n  - name: test\n    kind: test\n"
                    "    run:\n      - /usr/bin/python3\n      - -c\n      - |\n"
                    + "".join("        " + line + "\n" for line in writer.strip().splitlines())
                    + "    limits:\n      memory: 1G\n      tmp-size: 128M\n"
                    "    reports:\n      - path: /workspace/.sandbox/reports/junit.xml\n        format: junit\n")
            # A fresh parent per run: the largest resident set among its descendants is
            # the supervisor's (the step writes in small pieces, and runs in its cgroup).
            measure = ("import resource, subprocess, sys; run = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                       "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, run.returncode, '\"mergeReady\"' in run.stdout); "
                       "print(run.stdout if run.returncode in (0, 1) else run.stderr.strip()[:300])")
            run = subprocess.run(
                [sys.executable, "-c", measure, sandbox, "verify", "--format", "json", "--policy-dir", policies, tree],
                capture_output=True, text=True)
            first, _, said = run.stdout.partition("\n")
            kib, status, ready = first.split()
            peak = int(kib) << 10
            verdict = status in ("0", "1") and ready == "True"
            read = f"no verdict: exit {status}: {said.strip()}"
            if verdict:
                gates = {gate["metric"]: gate for gate in json.loads(said)["gates"]}
                tests = gates.get("tests-ran", {})
                read = (f"{tests['actual']} test cases read" if tests.get("actual")
                        else "refused: " + "; ".join(tests.get("reasons", []))[:150])
            print(f"{label:16} {peak / (1 << 20):13.1f}   {read}", flush=True)
            failed = failed or not verdict or peak > TARGET
    finally:
        subprocess.run(["rm", "-rf", work])
    sys.exit(1 if failed else 0)


main()
