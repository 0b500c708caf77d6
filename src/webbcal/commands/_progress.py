"""Progress on stderr for long commands: per input (exposure, association) and per step.

On a terminal a single line is redrawn (``detector1 [####----] 2/4 jw…_nrca1 · jump``);
elsewhere (pipes, log files, CI) one line per finished input is printed, with its step
timings. ``-q`` turns it off. Results (what was written where) go to stdout, not here.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Progress reporter for one command; hand its methods to ``run_many``.

    Parameters
    ----------
    stream : file, optional
        Where to write (default ``sys.stderr``).
    enabled : bool
        False prints nothing (``-q``).
    live : bool, optional
        Redraw one line in place (default: when ``stream`` is a terminal).
    width : int
        Characters of the bar.
    """

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True,
                 live: bool | None = None, width: int = 20) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.live = bool(isatty()) if live is None else live
        self.width = width
        self.stage = ""
        self.total = 0
        self.finished = 0
        self.current = ""
        self._steps: dict[str, list[tuple[str, float]]] = {}
        self._t0 = time.perf_counter()

    # -- what commands call ----------------------------------------------------------
    def start(self, stage: str, total: int) -> None:
        """A new stage over ``total`` inputs begins."""
        self.stage, self.total, self.finished, self.current = stage, total, 0, ""
        self._t0 = time.perf_counter()
        self._steps.clear()
        if not self.live:
            self._print(f"{stage}: {total} input{'s' if total != 1 else ''}")
        else:
            self._draw("")

    def step(self, path: str, step: str, event: str, seconds: float) -> None:
        """``run_many(on_step=...)``: a step of ``path`` started or ended."""
        name = _short(path)
        if event == "done":
            self._steps.setdefault(str(path), []).append((step, seconds))
        if self.live:
            self._draw(f"{name} · {step}" + (f" {seconds:.2f} s" if event == "done" else ""))

    def done(self, result: Any, n: int, total: int) -> None:
        """``run_many(progress=...)``: one input finished (``TaskResult``)."""
        self.finished = n
        name = _short(result.path)
        if result.status == "done":
            steps = self._steps.pop(str(result.path), None)
            if steps is None:  # ran on a worker: timings came back with the result
                steps = [(k, v) for k, v in dict(result.timings).items()
                         if k not in ("read", "write", "total")]
            detail = " ".join(f"{k}={v:.2f}" for k, v in steps)
            line = f"done in {result.seconds:.2f} s" + (f" ({detail})" if detail else "")
        elif result.status == "skipped":
            line = "complete products exist, skipped (--overwrite to redo)"
        else:
            line = f"FAILED: {result.reason}"
        msg = f"[{n}/{total}] {name}: {line}"
        if self.live:
            self._clear()
        self._print(msg)
        if self.live and n < total:
            self._draw("")

    def finish(self) -> None:
        """The stage ended: clear the live line."""
        if self.live:
            self._clear()

    # -- drawing ---------------------------------------------------------------------
    def _draw(self, what: str) -> None:
        if not self.enabled:
            return
        filled = int(self.width * self.finished / self.total) if self.total else 0
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self._t0
        text = f"{self.stage} [{bar}] {self.finished}/{self.total} {elapsed:5.1f} s {what}"
        self.stream.write("\r\x1b[2K" + text[:160])
        self.stream.flush()

    def _clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def _print(self, line: str) -> None:
        if self.enabled:
            print(line, file=self.stream, flush=True)


def _short(path: Any) -> str:
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in ("_uncal.fits", "_rate.fits", "_cal.fits", ".fits"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
