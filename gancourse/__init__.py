"""gancourse: the helper package of the GAN course (notebooks/ teaches, this package serves).

Modules are named by concept: runtime (seed, device, run profile), data (toy mixtures, MNIST),
checks (assignment checks), assign (exercise generator), grade (the grader), notebooks (files).
"""

from gancourse.runtime import budget, env_report, get_device, profile, seed_everything, set_profile

__all__ = ["budget", "env_report", "get_device", "profile", "seed_everything", "set_profile"]
__version__ = "0.1.0"
