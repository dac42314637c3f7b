"""``python -m gancourse.bench``: run the benchmark (see gancourse.bench.cli)."""

from gancourse.bench.cli import main

main()
