"""gancourse: the helper package of the GAN course (notebooks/ teaches, this package serves).

Modules are named by concept, one idea each:
- runtime (seed, device, run profile), data (toy mixtures, MNIST), viz (plots);
- divergences (KL, JS), discriminator (D* and the value function), games (the xy game, the
  Dirac-GAN), transport (earth mover's distance);
- nets (MLPs), dcgan (convolutional nets), losses (GAN and WGAN objectives), wasserstein
  (clipping, gradient penalty), techniques (improved techniques as hooks), defaults
  (hyperparameters and their sources), train (the one loop), conditional (cGAN, AC-GAN), cvae
  (CVAE, CVAE-GAN);
- classifier (the course's MNIST classifier), metrics (mode coverage, classifier score,
  Frechet distance);
- checks (assignment checks), assign (exercise generator), grade (the grader), notebooks (files).
"""

from gancourse.runtime import budget, env_report, get_device, profile, seed_everything, set_profile

__all__ = ["budget", "env_report", "get_device", "profile", "seed_everything", "set_profile"]
__version__ = "0.1.0"
