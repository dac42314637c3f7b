"""The grader: a student's assignment notebook graded against the course's own copy, in a sandbox.

manifest (the course's copy of each assignment and what a submission may contribute), own_code (package
functions an answer may not call), runner and harness (run inside the sandbox: the cells, then each official
check, and send its verdict over a private channel), sandbox (bubblewrap), session (one notebook: time limits,
restarts after a crash, the verdicts it accepts), report (text, JSON, Gradescope), cli (a whole class).
The design and its threat model: docs/grading.md.
"""
