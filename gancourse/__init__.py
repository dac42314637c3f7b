"""gancourse: the helper package of the GAN course (notebooks/ teaches, this package serves).

Modules are named by concept, one idea each, in layers that import downward only:
- support: validation (one check per kind of input), runtime (seed, device, run profile),
  checkpoints (atomic writes, checkpoints that load with weights_only), viz (plots);
- the maths of lectures 01-04: divergences (KL, JS), discriminator (D* and the value function),
  games (the xy game, the Dirac-GAN), transport (earth mover's distance);
- data (toy mixtures, MNIST);
- nets and objectives: nets (MLPs), ensemble (K MLPs trained as one), dcgan (convolutional nets), losses (GAN, WGAN, LSGAN),
  wasserstein (clipping, gradient penalty), lipschitz, hooks (the loop's options), techniques
  (improved techniques as hooks), conditional (cGAN, AC-GAN), cvae (CVAE, CVAE-GAN), classifier
  (the course's MNIST classifier), defaults (hyperparameters and their sources);
- the loop: train (the draws, the step, train(), sample()), and training/ around it (input checks,
  the CUDA-graph fast path, logging, resuming from checkpoints);
- metrics (mode coverage, classifier score, Frechet distance, KID, precision/recall);
- assignments: checks, assign (exercise generator), grade (the grader), notebooks (files).
Apart from the lessons: bench/ (``python -m gancourse.bench``, how fast the loop trains; ``.ensemble``, ensembles).
"""

from gancourse.runtime import budget, claim, env_report, get_device, profile, seed_everything, set_profile, train_steps

__all__ = ["budget", "claim", "env_report", "get_device", "profile", "seed_everything", "set_profile", "train_steps"]
__version__ = "0.1.0"
