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

# Lecture 10's conditional MNIST recipe (gancourse.conditional.mnist_recipe): AC-GAN (Odena et al. 2017,
# an auxiliary classifier on D) on the course's DCGAN nets, with DCGAN's Adam (above) at batch 64.
# Sizes per run profile. Measured on the offline 4,000 training digits on one CPU thread (conditional
# accuracy of 10,000 samples by the course's classifier): fast 200 steps 7 s, 54%; cpu 1,500 steps
# 80 s, 91.7% (seeds 0 and 1 alike; the conditional DCGAN with label maps, acgan=False: 82%; the MLP cGAN
# and AC-GAN collapsed to one or a few digits within 3,000 steps on these 4,000 digits). gpu, one H100
# (torch 2.11, captured step, tools/conditional_gpu.py, 2026-11-23): 2,500 / 5,000 / 7,500 / 10,000 steps
# gave 90.2 / 94.6 / 96.9 / 97.8% in 5 / 9 / 14 / 18 s of training, so the gpu profile trains 10,000.
CONDITIONAL_MNIST = {
    "nets": {
        "fast": {"arch": "dcgan", "acgan": True, "latent_dim": 32, "g_width": 16, "d_width": 16},
        "cpu": {"arch": "dcgan", "acgan": True, "latent_dim": 64, "g_width": 32, "d_width": 32},
        "gpu": {"arch": "dcgan", "acgan": True, "latent_dim": 100, "g_width": 128, "d_width": 64},
    },
    "train": {"batch_size": 64, "lr": 2e-4, "betas": (0.5, 0.999)},
    "steps": {"fast": 200, "cpu": 1500, "gpu": 10000},
}

# The CVAE-GAN (Bao et al. 2017) of lecture 10 (gancourse.cvae.mnist_recipe): MLP encoder/decoder,
# latent 8, reconstruction weight 0.25 on the per-image squared error (a Gaussian decoder with
# variance 2 on [-1, 1] data). With latent 16 and weight 1 the encoder kept the digit in z: decoding
# with another label gave the old digit (17% took the new label) and prior samples showed the asked-for
# digit 45% of the time; latent 8 and weight 0.25 gave 67% and 82% at 3,000 steps. The plain CVAE is
# the same objective with adv_weight = cls_weight = 0 (gancourse.cvae.cvae_objective). cpu profile, one
# thread, seed 0: the CVAE-GAN 78 s, conditional accuracy 83.5%, reconstructions of the 1,000 held-out
# digits with a Laplacian variance of 0.29 (real digits 0.75); the CVAE 51 s, 76.1%, 0.13. fast
# profile (200 steps): CVAE-GAN 5 s, 16%, 0.074; CVAE 3 s, 13%, 0.036. gpu, one H100 (as above): the
# CVAE-GAN 82.7 / 90.6 / 93.6 / 95.7% after 2,500 / 5,000 / 7,500 / 10,000 steps (17 s of training).
CVAE_GAN_MNIST = {
    "nets": {"latent_dim": 8, "hidden": 256, "depth": 2, "d_hidden": 256, "dropout": 0.3},
    "objective": {"rec_weight": 0.25, "kl_weight": 1.0, "adv_weight": 1.0, "cls_weight": 1.0},
    "train": {"batch_size": 64, "lr": 2e-4, "betas": (0.5, 0.999)},
    "steps": {"fast": 200, "cpu": 3000, "gpu": 10000},
}
