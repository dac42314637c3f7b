"""What the grader reports for one notebook: a text report, JSON, Gradescope's results.json and a gradebook row."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PASSED, FAILED, NOT_ATTEMPTED, NOT_RUN = "passed", "failed", "not attempted", "not run"


@dataclass
class ExerciseResult:
    id: str
    title: str
    max_points: int
    points: int = 0
    status: str = NOT_RUN
    message: str = ""


@dataclass
class Report:
    notebook: str
    assignment: str = ""
    assignment_from: str = ""  # how the assignment was told: "--assignment", "the file name", ...
    profile: str = "fast"
    sandbox: str = ""  # one line: how the notebook's code was confined, or that it was not
    exercises: list[ExerciseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""  # the notebook could not be graded at all (malformed input): every exercise scores 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(e.points for e in self.exercises)

    @property
    def max_total(self) -> int:
        return sum(e.max_points for e in self.exercises)

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total, "max_total": self.max_total}

    def text(self) -> str:
        head = f"Grading {self.notebook}"
        if self.assignment:
            head += f": assignment {self.assignment} (from {self.assignment_from}), profile {self.profile}"
        lines = [head]
        if self.sandbox:
            lines.append(f"  {self.sandbox}")
        width = max([len(e.title) for e in self.exercises] + [10])
        for e in self.exercises:
            line = f"  Exercise {e.id:<5} {e.title:<{width}}  {e.points}/{e.max_points}  {e.status}"
            if e.message:
                line += ": " + e.message.replace("\n", "\n" + " " * 10)
            lines.append(line)
        lines += [f"  Note: {n}" for n in self.notes]
        if self.error:
            lines.append(f"  Error: {self.error}")
        lines.append(f"Total: {self.total}/{self.max_total}")
        return "\n".join(lines)

    def gradescope(self) -> dict:
        """Gradescope's autograder results.json: the score, one test per exercise, the notes as output."""
        told = f"Assignment {self.assignment} (from {self.assignment_from}), profile {self.profile}"
        output = [told if self.assignment else "", self.sandbox] + [f"Note: {n}" for n in self.notes]
        output += [f"Error: {self.error}"] if self.error else []
        return {
            "score": self.total,
            "execution_time": round(self.seconds),
            "output": "\n".join(line for line in output if line),
            "tests": [
                {
                    "name": f"Exercise {e.id}: {e.title}",
                    "score": e.points,
                    "max_score": e.max_points,
                    "status": "passed" if e.status == PASSED else "failed",
                    "output": e.status + (f": {e.message}" if e.message else ""),
                }
                for e in self.exercises
            ],
        }
