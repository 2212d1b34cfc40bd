#!/usr/bin/env python3
"""Runs the CI recipes' shell steps (github-actions.yml, gitlab-ci.yml) on this machine against the reference
server, as the copied recipe would run them, so that a recipe that rots fails our CI.

Usage: test_recipes.py WSHARNESS_BIN_DIR REFERENCE_SERVER_BIN

For each recipe, in a fresh folder with WSHARNESS_BIN_DIR first on PATH:
 1. no baseline: the reference server passes (the conformance verdicts are the gate);
 2. that run's report.json committed as the baseline: passes again (`compare` is the gate);
 3. the same baseline, the server started with a 1 KiB message limit: the job fails, at `compare`.
GitHub steps named "Install ..." or "Build ..." and GitLab's before_script are not run (ci/install_check.sh
tests the install); `uses:` steps are GitHub's own. Exit 0 when every recipe behaved, 1 otherwise.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
# the suite kept short here; users run all of it
TEST_ENV = {"WSHARNESS_ARGS": "--filter 5.2", "LOAD_DURATION": "2s"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def github_job(path):
    """The job's env and its shell steps as (script, runs even after a failure)."""
    job = next(iter(yaml.safe_load(open(path))["jobs"].values()))
    steps = []
    for step in job["steps"]:
        name = step.get("name", "")
        if "run" not in step or name.startswith(("Install", "Build")):
            continue
        steps.append((step["run"], "always()" in str(step.get("if", ""))))
    return job.get("env", {}), steps


def gitlab_job(path):
    """The job's variables; its script as one step (GitLab runs it in one shell), after_script always."""
    job = next(v for k, v in yaml.safe_load(open(path)).items() if isinstance(v, dict) and "script" in v)
    steps = [("\n".join(job["script"]), False)]
    if job.get("after_script"):
        steps.append(("\n".join(job["after_script"]), True))
    return job.get("variables", {}), steps


def run_job(env, steps, cwd):
    """Runs the steps as the CI services do (bash -eo pipefail); the exit code of the first failing one."""
    failed = 0
    for script, always in steps:
        if failed and not always:
            continue
        rc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env).returncode
        if rc and not failed:
            failed = rc
    return failed


def check(recipe, load, bin_dir, server_bin):
    job_env, steps = load(os.path.join(HERE, recipe))
    work = tempfile.mkdtemp(prefix="wsharness-recipe-")
    ok = True
    try:
        port = free_port()
        env = {**os.environ, **{k: str(v) for k, v in job_env.items()}, **TEST_ENV}
        env["PATH"] = bin_dir + os.pathsep + env["PATH"]
        env["SERVER_URL"] = f"ws://127.0.0.1:{port}/"
        env["SERVER_CMD"] = f"{server_bin} --listen 127.0.0.1:{port}"
        baseline = os.path.join(work, env["WSHARNESS_BASELINE"])
        scenarios = [
            ("no baseline, a conformant server", None, 0),
            ("the first run's report as the baseline", "commit", 0),
            ("a server that got worse (1 KiB message limit) against that baseline", "--max-message-size 1KiB", 1),
        ]
        for what, change, want_failure in scenarios:
            if change == "commit":
                os.makedirs(os.path.dirname(baseline), exist_ok=True)
                shutil.copy(os.path.join(work, "reports", "conformance", "report.json"), baseline)
            shutil.rmtree(os.path.join(work, "reports"), ignore_errors=True)
            if change not in (None, "commit"):
                env["SERVER_CMD"] = f"{server_bin} --listen 127.0.0.1:{port} {change}"
            print(f"== {recipe}: {what}", flush=True)
            rc = run_job(env, steps, work)
            # the failure must be the gate's: the run happened and `compare` judged it
            gated = os.path.exists(os.path.join(work, "reports", "conformance", "compare.html"))
            if bool(rc) != bool(want_failure) or (want_failure and not gated):
                print(f"FAILED: {recipe}: {what}: the job exited {rc} (compare ran: {gated})", flush=True)
                ok = False
            else:
                print(f"ok: {recipe}: {what}: exit {rc}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ok


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    bin_dir, server_bin = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    results = [check("github-actions.yml", github_job, bin_dir, server_bin),
               check("gitlab-ci.yml", gitlab_job, bin_dir, server_bin)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
