"""Grade students' assignment notebooks: ``python -m gancourse.grade PATH... [--assignment NN] [--jobs N]
[--timeout S] [--out DIR] [--json FILE]``.

Each notebook is graded against the course's own copy of its assignment (gancourse/grading/assignments/):
only the code of its exercise cells is the student's; the setup cells and the official checks come from the
course, run in a bubblewrap sandbox, and each check's verdict reaches the grader over a channel of its own.
The design and its limits: docs/grading.md; the implementation: gancourse/grading/.
"""

from __future__ import annotations

import sys

from gancourse.grading.cli import main
from gancourse.grading.manifest import InputError
from gancourse.grading.report import FAILED, NOT_ATTEMPTED, NOT_RUN, PASSED, ExerciseResult, Report
from gancourse.grading.session import grade

__all__ = ["FAILED", "NOT_ATTEMPTED", "NOT_RUN", "PASSED", "ExerciseResult", "InputError", "Report", "grade", "main"]

if __name__ == "__main__":
    sys.exit(main())
