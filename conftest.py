"""For the notebooks nbval runs (notebooks/, solutions/): after a cell has run, nbval reads its outputs with a
5-second wait per message and fails the cell when one is slower. A long training cell's progress bar and figure
can take longer to arrive on a loaded machine (seen once: lecture 10's cpu-profile training cell, 4 processes on
2 cores), so the wait is a minute. The cell's own time limit is unchanged (--nbval-cell-timeout)."""

OUTPUT_WAIT_S = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_WAIT_S
