"""Shared by the ``compare_official*.py`` benchmarks: run a worker in the official venv.

The official ``jwst`` lives in its own virtualenv; each comparison script re-runs
itself there with ``--official-worker`` and the worker prints one ``RESULT {json}``
line. Both pipelines read references from the simulated CRDS cache, offline.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path


def official_env(world: dict | None) -> dict:
    """Environment for the official venv: our CRDS_* and PYTHONPATH/VIRTUAL_ENV removed,
    the world's cache (``world["crds_path"]``, ``world["context"]``) read-only."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CRDS_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    if world is not None:
        env["CRDS_PATH"] = str(world["crds_path"])
        if world.get("context"):
            env["CRDS_CONTEXT"] = world["context"]
    env["CRDS_OBSERVATORY"] = "jwst"
    env["CRDS_READONLY_CACHE"] = "1"
    return env


def official_available(python: Path) -> bool:
    """True if the official pipeline's interpreter exists; else say so (the comparison
    is optional: nothing to compare is not an error)."""
    if Path(python).exists():
        return True
    print(f"official jwst not installed at {python}; nothing to compare")
    return False


def worker_result(proc: subprocess.CompletedProcess) -> dict:
    """The JSON of the worker's ``RESULT`` line, or RuntimeError with its output tail."""
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"pipeline failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                       f"{proc.stderr[-4000:]}")


def run_official_worker(python: Path, script: str, args: list[str], world: dict) -> dict:
    """Run ``python script --official-worker *args`` with :func:`official_env`."""
    cmd = [str(python), str(Path(script).resolve()), "--official-worker", *args]
    return worker_result(subprocess.run(cmd, env=official_env(world), capture_output=True,
                                        text=True))
