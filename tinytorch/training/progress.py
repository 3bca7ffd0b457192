"""Live training progress as ONE updating output, in Jupyter, JupyterLite and a terminal.

A notebook that prints a line per step grows thousands of lines and slows the browser. So:
- "bar":  an HTML progress bar in one IPython display, replaced in place through its display
          handle (`display(..., display_id=True)` then `handle.update(...)`). Works in
          Jupyter and in JupyterLite's Pyodide kernel.
- "text": one line on stdout rewritten with a carriage return, a newline only at the end.
- None:   silent.
Updates are throttled (every `min_interval` seconds) so drawing never costs training time.
"""

import html
import sys
import time


def _in_ipython_kernel() -> bool:
    """True inside a Jupyter/JupyterLite kernel (where HTML displays render)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too broken to ask: fall back to text
        return False
    return shell is not None and hasattr(shell, "kernel")


def resolve_mode(progress):
    """Turn the trainer's `progress` argument into "bar", "text" or None."""
    if progress in (None, False):
        return None
    if progress is True or progress == "auto":
        return "bar" if _in_ipython_kernel() else "text"
    if progress in ("bar", "text"):
        return progress
    raise ValueError(f'progress must be "auto", "bar", "text" or None, got {progress!r}')


def _clock(seconds: float) -> str:
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def describe(status: dict) -> str:
    """One line of text: step, losses, learning rate, speed and time left.

    status keys: step, target (last step of this fit), train_loss, val_loss, val_step, lr,
    tokens_per_sec, elapsed (this fit call), remaining (seconds or None), done (bool).
    """
    parts = [f"step {status['step']}/{status['target']}"]
    if status.get("train_loss") is not None:
        parts.append(f"loss {status['train_loss']:.4f}")
    if status.get("val_loss") is not None:
        parts.append(f"val {status['val_loss']:.4f} (step {status['val_step']})")
    if status.get("lr") is not None:
        parts.append(f"lr {status['lr']:.2e}")
    if status.get("tokens_per_sec"):
        parts.append(f"{status['tokens_per_sec']:,.0f} tok/s")
    timing = _clock(status.get("elapsed", 0.0))
    if not status.get("done") and status.get("remaining") is not None:
        timing += f" (~{_clock(status['remaining'])} left)"
    parts.append(timing)
    return " | ".join(parts)


class Progress:
    """One live output for one `fit` call: `update(status)` often, `close(status)` once."""

    def __init__(self, mode, min_interval: float = 0.5):
        self.mode = mode
        self.min_interval = min_interval
        self._handle = None
        self._last_draw = None
        self._last_width = 0
        self.draws = 0  # how many times the output was redrawn (tests and curiosity)

    def update(self, status: dict, force: bool = False) -> None:
        """Redraw if `min_interval` seconds have passed since the last draw (or if forced)."""
        if self.mode is None:
            return
        now = time.perf_counter()
        if not force and self._last_draw is not None and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self.draws += 1
        if self.mode == "bar":
            self._draw_bar(status)
        else:
            self._draw_text(status)

    def close(self, status: dict) -> None:
        """Final redraw; the text line gets its newline."""
        if self.mode is None:
            return
        self.update(status, force=True)
        if self.mode == "text":
            sys.stdout.write("\n")
            sys.stdout.flush()

    def _draw_text(self, status: dict) -> None:
        line = describe(status)
        # Pad with spaces so a shorter line fully covers the previous one.
        padding = " " * max(0, self._last_width - len(line))
        self._last_width = len(line)
        sys.stdout.write("\r" + line + padding)
        sys.stdout.flush()

    def _draw_bar(self, status: dict) -> None:
        if not _in_ipython_kernel():  # "bar" asked for outside Jupyter: a text line still works
            self.mode = "text"
            return self._draw_text(status)
        from IPython.display import HTML, display

        done, total = status["step"] - status["start"], max(status["target"] - status["start"], 1)
        label = html.escape(describe(status))
        markup = (
            '<div class="tinytorch-progress" style="font-family:monospace;font-size:13px">'
            f'<progress value="{done}" max="{total}" style="width:320px;vertical-align:middle"></progress> '
            f"<span>{label}</span></div>"
        )
        if self._handle is None:
            self._handle = display(HTML(markup), display_id=True)
        else:
            self._handle.update(HTML(markup))
