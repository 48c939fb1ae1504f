"""Shared command-line behaviour: bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
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
