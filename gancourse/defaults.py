"""The course's hyperparameter defaults, named in one place, each with where it comes from.

Used by notebooks 06 (WGAN), 07 (WGAN-GP), 08 (DCGAN) and 10 (conditional GANs). ``betas`` are floats:
torch 2.14 rejects ``betas=(0, 0.9)`` (mixed int/float). The measurements behind the course's own choices
are in docs/benchmarks.md ("Where the defaults come from").
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
# Adam(1e-4, beta1 = 0.5, beta2 = 0.9), batch 256). On the 25-Gaussian grid lambda = 10 fails where
# lambda = 0.1 captures every mode: the penalty must suit the data's scale.
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

# Lecture 08's DCGAN on MNIST, per run profile: G and D widths and the batch (the gpu profile's is DCGAN's 128,
# above). Lectures 09 and 10 train the same nets: budget(**DCGAN_MNIST["g_width"]) is this profile's width.
DCGAN_MNIST = {
    "g_width": {"fast": 16, "cpu": 32, "gpu": 128},
    "d_width": {"fast": 8, "cpu": 16, "gpu": 64},
    "batch_size": {"fast": 32, "cpu": 64, "gpu": DCGAN["batch_size"]},
}

# Lecture 10's conditional MNIST recipe (gancourse.conditional.mnist_recipe): AC-GAN (Odena et al. 2017,
# an auxiliary classifier on D) on the course's DCGAN nets, with DCGAN's Adam (above) at batch 64; sizes
# per run profile, chosen by measured conditional accuracy.
CONDITIONAL_MNIST = {
    "nets": {
        "fast": {"arch": "dcgan", "acgan": True, "latent_dim": 32, "g_width": 16, "d_width": 16},
        "cpu": {"arch": "dcgan", "acgan": True, "latent_dim": 64, "g_width": 32, "d_width": 32},
        "gpu": {"arch": "dcgan", "acgan": True, "latent_dim": 100, "g_width": 128, "d_width": 64},
    },
    "train": {"batch_size": 64, "lr": 2e-4, "betas": (0.5, 0.999)},
    "steps": {"fast": 200, "cpu": 1500, "gpu": 10000},
}

# The CVAE-GAN (Bao et al. 2017) of lecture 10 (gancourse.cvae.mnist_recipe): MLP encoder/decoder, latent 8,
# reconstruction weight 0.25 on the per-image squared error (a Gaussian decoder with variance 2 on [-1, 1]
# data): with latent 16 and weight 1 the encoder kept the digit in z. The plain CVAE is the same objective
# with adv_weight = cls_weight = 0 (gancourse.cvae.cvae_objective).
CVAE_GAN_MNIST = {
    "nets": {"latent_dim": 8, "hidden": 256, "depth": 2, "d_hidden": 256, "dropout": 0.3},
    "objective": {"rec_weight": 0.25, "kl_weight": 1.0, "adv_weight": 1.0, "cls_weight": 1.0},
    "train": {"batch_size": 64, "lr": 2e-4, "betas": (0.5, 0.999)},
    "steps": {"fast": 200, "cpu": 3000, "gpu": 10000},
}
