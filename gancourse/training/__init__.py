"""What surrounds the one loop of gancourse.train, apart from the algorithm, so that train.py reads as the algorithm.

- inputs: every argument of train() and sample() checked before the first step; the default optimisers.
- fastpath: on CUDA, the step captured once as a CUDA graph and replayed; on a CPU, small nets on one thread.
- log: losses logged as window means, a run that blows up stopped and named, the progress bar and its summary.
- resume: what a checkpoint of a run holds, and continuing from one (refused if it was made with other settings).
"""
