"""Feedback at a glance: a failed check or an untouched exercise shows one short block, not the package's frames.

In an IPython kernel (JupyterLab, classic Jupyter, Colab), ``register`` makes a check's ``CheckFailed`` and an
exercise stub's ``NotImplementedError("Exercise N.k")`` show as a few lines: the exercise, what was expected,
what came, the hint. Any other error, the student's own included, keeps its full traceback. The kernel still
reports the error with its name and whole message, so Run All stops at that cell and the grader
(``gancourse.grade``) reads the same text as before. ``gancourse.checks`` calls ``register`` on import.
"""

from __future__ import annotations

import re

STUB_RE = re.compile(r"Exercise (\d+\.\d+)")  # the whole message of a stub's NotImplementedError
CHECK_RE = re.compile(r"Exercise (\d+\.\d+): (.*)", re.DOTALL)  # a CheckFailed's message
RED, BOLD, RESET = "\x1b[31m", "\x1b[1m", "\x1b[0m"  # ANSI colours, as tracebacks use


def block(error: BaseException) -> list[str] | None:
    """The short block (lines, with ANSI colours) for an untouched exercise or a failed check, else None.

    ``error`` is a stub's ``NotImplementedError("Exercise N.k")`` or a check's failure ("Exercise N.k:
    message", then "Hint: ..." lines); any other NotImplementedError gets None (its normal traceback).
    """
    text = str(error)
    if isinstance(error, NotImplementedError):
        stub = STUB_RE.fullmatch(text)
        if stub is None:
            return None
        ident = stub.group(1)
        return [
            f"{BOLD}{RED}Exercise {ident} is not done yet{RESET}",
            f'  Write your code in place of raise NotImplementedError("Exercise {ident}") in its cell,',
            "  run that cell, then run its check.",
        ]
    check = CHECK_RE.fullmatch(text)
    title, message = (f"Exercise {check.group(1)}", check.group(2)) if check else ("A check", text)
    lines = [f"{BOLD}{RED}{title} did not pass its check{RESET}"]
    for line in message.splitlines():
        hint = line.startswith("Hint:")
        lines.append(f"  {BOLD}Hint:{RESET}{line.removeprefix('Hint:')}" if hint else f"  {line}")
    return lines


def _show(shell, etype, value, tb, tb_offset=None):
    """IPython's custom exception handler: the short block where there is one, else the normal traceback."""
    lines = block(value)
    if lines is not None:
        value._render_traceback_ = lambda: lines  # IPython shows these lines in place of the frames
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def register(check_failed: type[BaseException]) -> bool:
    """Show ``check_failed`` and exercise stubs as short blocks in the running IPython; False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    handler = getattr(shell.CustomTB, "__func__", None)
    if shell.custom_exceptions and getattr(handler, "gancourse_feedback", False) is False:
        return False  # another tool handles exceptions here: leave it alone
    shell.set_custom_exc((check_failed, NotImplementedError), _show)
    shell.CustomTB.__func__.gancourse_feedback = True
    return True
