#!/usr/bin/env python3
"""make bench: what many sandboxes leave behind.

usage: soak.py SANDBOX [RUNS [VERIFIES]]   (default 10000 runs, 1000 verifies)

Runs `sandbox run -- /bin/true` RUNS times and `sandbox verify` of a one-step tree
VERIFIES times, one after another, and counts before and after what a leak would
leave on the host: step cgroups (v1 and v2), mounts in this mount namespace,
sandbox entries in /tmp, and this process's open descriptors (which a child could
only leak into by inheritance). Prints the counts; fails when any grew or a run failed.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time


def census():
    groups = glob.glob("/sys/fs/cgroup/*/**/sandbox-steps/step-*", recursive=True) + glob.glob(
        "/sys/fs/cgroup/**/sandbox-steps/step-*", recursive=True)
    with open("/proc/self/mountinfo") as mounts:
        mounted = sum(1 for _ in mounts)
    temporary = [name for name in os.listdir("/tmp") if name.startswith(("sandbox-verify-", "sandbox-capture-"))]
    return {
        "step cgroups": len(set(groups)),
        "mounts": mounted,
        "/tmp entries": len(temporary),
        "descriptors": len(os.listdir("/proc/self/fd")),
    }


def main():
    sandbox = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    verifies = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    work = tempfile.mkdtemp(prefix="sandbox-bench-soak-")
    os.chmod(work, 0o755)
    failed = 0
    try:
        policies, images, tree = (os.path.join(work, name) for name in ("policies", "images", "tree"))
        for directory in (policies, images, tree):
            os.makedirs(directory)
        shutil.copy(os.path.join(root, "policies", "defaults.yaml"), policies)
        with open(os.path.join(images, "shell.yaml"), "w") as image:
            image.write("image: shell\nrequires: [/bin/sh]\n")
        with open(os.path.join(policies, "quick.yaml"), "w") as policy:
            policy.write("language: quick\ndetect: [quick.txt]\nimage: shell\nsteps:\n"
                         "  - name: step\n    kind: build\n    run: [/bin/true]\n")
        open(os.path.join(tree, "quick.txt"), "w").close()
        os.chmod(tree, 0o755)
        before = census()
        started = time.monotonic()
        for _ in range(runs):
            failed += subprocess.run([sandbox, "run", "--", "/bin/true"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL).returncode != 0
        ran = time.monotonic() - started
        started = time.monotonic()
        for _ in range(verifies):
            failed += subprocess.run([sandbox, "verify", "--policy-dir", policies, tree], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL).returncode != 0
        verified = time.monotonic() - started
        after = census()
    finally:
        subprocess.run(["rm", "-rf", work])
    print(f"{runs} runs in {ran:.1f} s, {verifies} verifies in {verified:.1f} s, {failed} failed")
    print(f"{'left behind':14} {'before':>7} {'after':>7}")
    for name in before:
        print(f"{name:14} {before[name]:7} {after[name]:7}")
    grew = [name for name in before if after[name] > before[name]]
    if grew or failed:
        print("soak: " + (f"{failed} runs failed; " if failed else "") + (f"grew: {', '.join(grew)}" if grew else ""))
        sys.exit(1)


main()
