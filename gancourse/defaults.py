"""The course's hyperparameter defaults, named in one place, each with where it comes from.

Used by notebooks 06 (WGAN), 07 (WGAN-GP) and 08 (DCGAN). ``betas`` are floats: torch 2.14
rejects ``betas=(0, 0.9)`` (mixed int/float).
"""

from __future__ import annotations

# Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN", Algorithm 1: alpha = 5e-5, c = 0.01,
# m = 64, n_critic = 5, RMSProp (momentum-based optimisers made the critic unstable).
WGAN = {"optimizer": "rmsprop", "lr": 5e-5, "n_critic": 5, "clip": 0.01, "batch_size": 64}

# Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1 (images):
# lambda = 10, n_critic = 5, Adam(alpha = 1e-4, beta1 = 0, beta2 = 0.9); no batch norm in the critic.
WGAN_GP_IMAGES = {
    "optimizer": "adam",
    "lr": 1e-4,
    "betas": (0.0, 0.9),
    "gp_weight": 10.0,
    "n_critic": 5,
    "batch_size": 64,
}

# The same authors' 2-D toy experiments (gan_toy.py in their code: LAMBDA = .1, CRITIC_ITERS = 5,
# Adam(1e-4, beta1 = 0.5, beta2 = 0.9), batch 256). MEASURED.md: lambda = 10 fails on the 25-Gaussian
# grid (6-14 modes, 1-2 % high quality) where lambda = 0.1 captures 25/25: the penalty must suit
# the data's scale.
WGAN_GP_TOYS = {
    "optimizer": "adam",
    "lr": 1e-4,
    "betas": (0.5, 0.9),
    "gp_weight": 0.1,
    "n_critic": 5,
    "batch_size": 256,
}

# Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with DCGANs", section 4:
# Adam(lr = 2e-4, beta1 = 0.5), batch 128, weights from N(0, 0.02).
DCGAN = {"optimizer": "adam", "lr": 2e-4, "betas": (0.5, 0.999), "batch_size": 128, "init_std": 0.02}
