"""Compile webbcal's numba kernels into numba's on-disk cache ahead of a run.

numba compiles a kernel the first time it is called with a new signature and, with
``cache=True``, stores the machine code on disk; later processes load it in well under
a second.  The first run on a machine therefore pays the compilation (tens of seconds).
:func:`start_background` hides most of it: a subprocess simulates the ``tiny`` world and
runs every stage on it — so exactly the signatures the pipelines use get compiled and
cached — while the main process simulates its own (large) world.  The main process
calls :func:`wait_for` before each stage; when the marker of that stage exists, its
kernels load from the cache.

Command line (also measures compile times per kernel module)::

    NUMBA_CACHE_DIR=$(mktemp -d) python -m webbcal._warmup WORKDIR [--json FILE]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

__all__ = ["STAGES", "warm_up", "start_background", "wait_for", "compile_seconds",
           "CompileTimer"]

#: What the warm-up does, in order; each writes ``<markers>/<stage>.done`` when its
#: kernels are in the cache (``<stage>.failed`` with the reason if it failed).
STAGES = ("simulate", "detector1", "image2", "image3")


class CompileTimer:
    """Records numba compilation time per kernel (a ``numba:compile`` event listener).

    Attributes
    ----------
    seconds : dict[str, float]
        ``module.function`` -> CPU seconds (``time.process_time``: on a loaded machine
        wall time would measure the neighbours) spent compiling it, callees included
        (nested compilations are charged to the outermost kernel only, so the values
        add up).
    """

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._stack: list[tuple[str, float]] = []
        self._cm = None

    def _name(self, event) -> str:
        disp = event.data.get("dispatcher")
        fn = getattr(disp, "py_func", None)
        return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', disp)}"

    def on_start(self, event):
        self._stack.append((self._name(event), time.process_time()))

    def on_end(self, event):
        if not self._stack:
            return
        name, t0 = self._stack.pop()
        if not self._stack:
            self.seconds[name] += time.process_time() - t0

    def __enter__(self):
        from numba.core import event as ev

        class _L(ev.Listener):
            def on_start(_, event):  # noqa: N805
                self.on_start(event)

            def on_end(_, event):  # noqa: N805
                self.on_end(event)

        self._cm = ev.install_listener("numba:compile", _L())
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        return False

    def by_module(self) -> dict[str, float]:
        """Seconds per kernel module (``webbcal.algorithms.detector1._ramp_kernels`` …)."""
        out: dict[str, float] = defaultdict(float)
        for name, s in self.seconds.items():
            out[name.rsplit(".", 1)[0]] += s
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _mark(markers: Path | None, stage: str, ok: bool, text: str = "") -> None:
    if markers is None:
        return
    markers.mkdir(parents=True, exist_ok=True)
    tmp = markers / f".{stage}.tmp"
    tmp.write_text(text)
    os.replace(tmp, markers / f"{stage}.{'done' if ok else 'failed'}")


def stamp_path() -> Path:
    """File recording that a full warm-up ran for these kernel sources and this numba.

    In ``$NUMBA_CACHE_DIR`` when set, else ``~/.cache/webbcal``; the name holds a hash
    of every ``*kernels*.py`` source in the package and numba's version, so editing a
    kernel (or upgrading numba) makes the next warm-up run again.
    """
    import hashlib

    import numba

    import webbcal

    h = hashlib.sha1(numba.__version__.encode())
    for src in sorted(Path(webbcal.__file__).parent.rglob("*kernels*.py")):
        h.update(src.read_bytes())
    base = os.environ.get("NUMBA_CACHE_DIR") or Path.home() / ".cache" / "webbcal"
    return Path(base) / f"webbcal-warmup-{h.hexdigest()[:16]}.done"


def warm_up(work_dir, *, markers=None, stages=STAGES) -> dict:
    """Simulate ``tiny`` into ``work_dir`` and run ``stages`` on it, timing compilation.

    Parameters
    ----------
    work_dir : path
        Scratch folder (products of the tiny run).
    markers : path or None
        Folder for the per-stage ``.done`` / ``.failed`` marker files.
    stages : sequence of str
        Subset of :data:`STAGES`, in order.

    Returns
    -------
    dict
        ``stage -> {"seconds": wall s, "cpu_s": CPU s, "compile_s": {module: CPU s},
        "compile_fn_s": {module.function: CPU s}}``.
    """
    from webbcal.commands.demo import run_stages
    from webbcal.simulate import simulate_world

    work = Path(work_dir)
    markers = Path(markers) if markers is not None else None
    stamp = stamp_path()
    if tuple(stages) == STAGES and stamp.exists():  # kernels already cached
        for stage in stages:
            _mark(markers, stage, True, "cached")
        return {"cached": str(stamp)}
    result: dict = {}
    world = None
    for stage in stages:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            with CompileTimer() as timer:
                if stage == "simulate":
                    world = simulate_world("tiny", work / "raw", seed=0)
                    os.environ["CRDS_PATH"] = str(world.crds_path)
                    os.environ["CRDS_CONTEXT"] = str(world.context)
                else:
                    run_stages(world, work, stages=(stage,), log=lambda *a, **k: None)
        except Exception as exc:  # the main run compiles what is left itself
            _mark(markers, stage, False, f"{type(exc).__name__}: {exc}")
            for rest in stages[stages.index(stage) + 1:]:
                _mark(markers, rest, False, f"skipped: {stage} failed")
            result[stage] = {"error": f"{type(exc).__name__}: {exc}"}
            break
        result[stage] = {"seconds": time.perf_counter() - t0,
                         "cpu_s": time.process_time() - c0, "compile_s": timer.by_module(),
                         "compile_fn_s": dict(sorted(timer.seconds.items(),
                                                     key=lambda kv: -kv[1]))}
        _mark(markers, stage, True, json.dumps(result[stage]))
    if tuple(stages) == STAGES and all("error" not in r for r in result.values()):
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(result, indent=1))
    return result


def start_background(work_dir, markers, *, threads: int = 1) -> subprocess.Popen:
    """Start :func:`warm_up` in a subprocess with ``threads`` numba threads; it does
    nothing (marks every stage done) when :func:`stamp_path` exists."""
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "webbcal._warmup", str(work_dir), "--markers", str(markers)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(stage: str, markers, proc: subprocess.Popen | None, *,
             timeout: float = 300.0) -> float:
    """Wait until the warm-up finished ``stage`` (or failed, or died); returns seconds waited."""
    t0 = time.perf_counter()
    markers = Path(markers)
    while time.perf_counter() - t0 < timeout:
        if (markers / f"{stage}.done").exists() or (markers / f"{stage}.failed").exists():
            break
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    return time.perf_counter() - t0


def compile_seconds(markers) -> float | None:
    """CPU seconds the warm-up spent compiling, from its marker files (0 when it found
    the kernels cached; None when there are no markers: no warm-up ran)."""
    markers = Path(markers)
    done = sorted(markers.glob("*.done")) if markers.is_dir() else []
    if not done:
        return None
    total = 0.0
    for f in done:
        try:
            info = json.loads(f.read_text())
        except (OSError, ValueError):  # "cached", or a marker being written
            continue
        if isinstance(info, dict):
            total += sum(float(v) for v in info.get("compile_s", {}).values())
    return total


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m webbcal._warmup", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work_dir", type=Path)
    ap.add_argument("--markers", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the timings here")
    a = ap.parse_args(argv)
    res = warm_up(a.work_dir, markers=a.markers)
    if a.json is not None:
        a.json.write_text(json.dumps(res, indent=1))
    if a.markers is None:
        if "cached" in res:
            print(f"kernels already compiled and cached ({res['cached']})")
        for stage, r in res.items():
            if not isinstance(r, dict):
                continue
            print(f"{stage}: {r.get('seconds', float('nan')):.1f} s wall, "
                  f"{r.get('cpu_s', float('nan')):.1f} s CPU {r.get('error', '')}")
            for mod, s in list(r.get("compile_s", {}).items())[:8]:
                print(f"    {s:6.1f} s CPU compiling  {mod}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
