#!/usr/bin/env python3
"""make bench: `sandbox verify` on each example beside the same steps run bare.

usage: verify.py SANDBOX [EXAMPLE ...]   (default: every ready example whose toolchain is here)

Bare means no sandbox: the steps, their argv and environment come from
`sandbox policy show LANGUAGE` (each argv printed as JSON strings), the
toolchain's PATH and mounts from images/<image>.yaml. The tree is copied to a
fresh directory in /dev/shm (in memory, like the sandbox's tmpfs copy as root), which stands for /workspace; a fresh directory stands for /tmp
and for HOME, so caches start as cold as they do in a sandbox. The bare time
is the copy and the steps; the sandbox time is the whole `sandbox verify`
(policy loading, copy, steps, reading reports, the verdict). Medians of
BENCH_VERIFY_RUNS runs (default 3). Prints figures; fails only when a ready
example is not merge-ready or a bare step fails. Steps' `mounts-if-present` are
ignored: bare runs see the whole host, so examples that need them (a package
mirror) are left out of the default list.
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def flow_list(text, key):
    match = re.search(rf"^{key}: \[(.*)\]$", text, re.M)
    return [item.strip().strip('"') for item in match.group(1).split(",")] if match else []


def policy_steps(sandbox, language):
    """The effective policy's image name, environment and steps."""
    shown = subprocess.run([sandbox, "policy", "show", language], check=True, capture_output=True, text=True).stdout
    image_name = re.search(r"^image: (\S+)$", shown, re.M).group(1)
    environment, steps, section = {}, [], None
    for line in shown.splitlines():
        if line in ("environment:", "steps:", "gates:"):
            section = line[:-1]
        elif section == "environment" and line.startswith("  "):
            name, value = line.strip().split(": ", 1)
            environment[name] = value
        elif section == "steps" and line.startswith("  - name: "):
            steps.append({"name": line.split(": ", 1)[1], "only-if": [], "reports": []})
        elif section == "steps" and line.startswith("    report: /"):
            steps[-1]["reports"].append(line.split(": ", 1)[1].rsplit(" (", 1)[0])
        elif section == "steps" and line.startswith("    run: "):
            steps[-1]["run"] = json.loads(line.split(": ", 1)[1])
        elif section == "steps" and line.startswith("    only-if: "):
            steps[-1]["only-if"] = line.split(": ", 1)[1].strip("[]").split(", ")
    return image_name, environment, steps


def bare(language, tree, image_name, environment, steps):
    """Seconds to copy the tree and run the steps with no sandbox."""
    image_text = open(os.path.join(root, "images", image_name + ".yaml")).read()
    image_env = dict(re.findall(r"^  (\w+): (\S+)$", image_text.split("\nenvironment:", 1)[1], re.M)) if (
        "\nenvironment:" in image_text) else {}
    # In memory, as the sandbox's copy is when run as root (a tmpfs).
    work = tempfile.mkdtemp(prefix="sandbox-bare-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        started = time.monotonic()
        workspace = os.path.join(work, "workspace")
        shutil.copytree(tree, workspace, symlinks=True)
        scratch = os.path.join(work, "tmp")
        os.mkdir(scratch)
        # Sandbox paths back to the host's: /workspace, /tmp and the image's mounts.
        places = [("/workspace", workspace), ("/tmp", scratch)]
        for mount in flow_list(image_text, "mounts"):
            source, _, destination = mount.partition(":")
            places.append((destination or source, source))

        # One pass, so that a replacement is never rewritten by a later place.
        pattern = re.compile(
            r"(?<![\w/])(" + "|".join(re.escape(inside) for inside, _ in places) + r")(?=/|\b|$)")
        outside_of = dict(places)

        def host(text):
            return pattern.sub(lambda match: outside_of[match.group(1)], text)

        path = [host(p) for p in flow_list(image_text, "path")] + ["/usr/local/bin", "/usr/bin", "/bin"]
        env = {"PATH": ":".join(path), "HOME": scratch, "LANG": "C.UTF-8"}
        env.update({name: host(value) for name, value in {**image_env, **environment}.items()})
        for step in steps:
            if step["only-if"] and not any(os.path.exists(os.path.join(workspace, p)) for p in step["only-if"]):
                continue
            # As in the sandbox, each report's directory is made before the step.
            for report in step["reports"]:
                os.makedirs(os.path.dirname(host(report)), exist_ok=True)
            status = subprocess.run([host(arg) for arg in step["run"]], cwd=workspace, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            if status != 0:
                sys.exit(f"bare {language}/{step['name']} exited {status}")
        return time.monotonic() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)


def contained(sandbox, tree):
    started = time.monotonic()
    status = subprocess.run([sandbox, "verify", "--format", "json", tree],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    if status != 0:
        sys.exit(f"sandbox verify {tree} exited {status}, not merge-ready")
    return time.monotonic() - started


TOOLCHAINS = {"python": "/usr/bin/python3", "go": "/usr/bin/go", "node": "/usr/bin/node",
              "rust": os.path.expanduser("~/.cargo/bin/cargo"), "swift": "/opt/swift/usr/bin/swift"}

sandbox = sys.argv[1]
examples = sys.argv[2:] or [f"{language}/ready" for language, tool in TOOLCHAINS.items() if os.path.exists(tool)]
runs = int(os.environ.get("BENCH_VERIFY_RUNS", "3"))
print(f"{'example':14} {'bare s':>8} {'sandbox s':>10} {'ratio':>6}   (medians of {runs} runs, target <= 1.10)")
for example in examples:
    language = example.split("/")[0]
    tree = os.path.join(root, "examples", example)
    image_name, environment, steps = policy_steps(sandbox, language)
    bare_times, sandbox_times = [], []
    for _ in range(runs):  # interleaved, so drift in the machine falls on both
        bare_times.append(bare(language, tree, image_name, environment, steps))
        sandbox_times.append(contained(sandbox, tree))
    b, c = statistics.median(bare_times), statistics.median(sandbox_times)
    print(f"{example:14} {b:8.2f} {c:10.2f} {c / b:6.2f}", flush=True)
