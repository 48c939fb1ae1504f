"""Shared command-line behaviour: bad input is one line on stderr and exit code 2; SIGTERM
stops a sweep as Ctrl-C does."""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ablate.errors import AblateInputError


def exit_on_input_error(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AblateInputError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    return wrapper


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (`timeout`, `kill`, a scheduler) raises KeyboardInterrupt, as Ctrl-C does. By
    default it ends the process at once, and the joblib workers of a multirun, left without
    their parent, train on; an interrupt unwinds through joblib, which kills them."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return
    saved = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved)
