"""Benchmark: how fast the course's DCGAN and WGAN-GP-DCGAN train on MNIST, and how soon they draw good digits.

``python -m gancourse.bench`` runs, in one process on one device, three loops over the same networks, losses,
optimiser settings and batch size (``loops``: a tutorial-style loop, a resident-data loop, the course's), so
that every speed-up is a ratio measured in one run (``measure``), and prints a table (``cli``). Figures:
docs/benchmarks.md; the lesson: notebooks/08_dcgan.ipynb, which reads the loops from here.
"""

from gancourse.bench.cli import format_report, main, write_json
from gancourse.bench.loops import (
    EPOCH_IMAGES,
    LOOP_LABELS,
    LOOPS,
    MODELS,
    Model,
    course_threads,
    forever,
    resident_loop,
    threads,
    tutorial_dataset,
    tutorial_loader,
    tutorial_loop,
    tutorial_transform,
)
from gancourse.bench.measure import run_benchmark, throughput, time_to_quality

__all__ = ["EPOCH_IMAGES", "LOOP_LABELS", "LOOPS", "MODELS", "Model", "course_threads", "forever", "resident_loop"]
__all__ += ["threads", "tutorial_dataset"]
__all__ += ["tutorial_loader", "tutorial_loop", "tutorial_transform", "format_report", "main", "write_json"]
__all__ += ["run_benchmark", "throughput", "time_to_quality"]
