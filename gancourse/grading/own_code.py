"""Which of the package's own functions implement what each exercise asks for.

An answer whose own code calls one of these (or that is one, returns one, or returns an instance of one)
while its cell or its check runs earns 0 for that exercise, with the reason in the report: the exercise asks
the student to write it. The functions of the ``gancourse.checks.exNN`` modules count for every exercise (the
checks' references are the answers), except the checks themselves, which a student may run.
Building blocks an exercise tells the student to use (``losses.d_loss`` in 5.5, ``wasserstein.clip_weights_``
in 6.3) are not listed for it. ``python -m gancourse.assign`` copies each exercise's entry into the manifest.
"""

from __future__ import annotations

OWN_CODE: dict[str, tuple[str, ...]] = {
    "0.1": ("gancourse.data.ring_modes",),
    "0.2": ("gancourse.data._to_course_range",),
    "0.3": ("gancourse.metrics.mode_coverage", "gancourse.metrics.ring_coverage", "gancourse.metrics.grid_coverage"),
    "1.1": ("gancourse.divergences.kl",),
    "1.2": ("gancourse.divergences.js",),
    "1.3": ("gancourse.divergences.kl_gaussians",),
    "2.1": ("gancourse.discriminator.optimal_discriminator",),
    "2.2": ("gancourse.discriminator.value_function",),
    "2.3": ("gancourse.discriminator.optimal_value", "gancourse.divergences.js_quad"),
    "3.1": ("gancourse.games.simulate", "gancourse.games.update_matrix"),
    "3.2": ("gancourse.games.simulate",),
    "3.3": ("gancourse.games.spectral_radius",),
    "3.4": ("gancourse.games.dirac_gan_grad",),
    "4.1": ("gancourse.transport.emd_1d",),
    "4.2": ("gancourse.transport.transport_constraints", "gancourse.transport.emd_lp"),
    "4.3": ("gancourse.transport.lipschitz_constraints", "gancourse.transport.emd_dual"),
    "4.4": ("gancourse.transport.emd_points",),
    "5.1": ("gancourse.losses.d_loss",),
    "5.2": ("gancourse.losses.g_loss_saturating", "gancourse.losses.g_loss_nonsaturating"),
    "5.3": ("gancourse.losses.d_loss",),
    "5.4": ("gancourse.nets.MinibatchStd",),
    "6.1": ("gancourse.losses.wgan_critic_loss", "gancourse.losses.wgan_g_loss"),
    "6.2": ("gancourse.wasserstein.clip_weights_", "gancourse.wasserstein.WeightClipping"),
    "6.5": ("gancourse.lipschitz.clipped_lipschitz_bound",),
    "7.1": ("gancourse.wasserstein.interpolate", "gancourse.wasserstein._mix"),
    "7.3": ("gancourse.wasserstein.gradient_penalty",),
    "8.2": ("gancourse.dcgan.DCGANGenerator", "gancourse.dcgan.dcgan"),
    "8.3": ("gancourse.dcgan.dcgan_init_",),
    "8.6": ("gancourse.train.save_checkpoint", "gancourse.train.load_checkpoint"),
    "9.1": ("gancourse.metrics.frechet_distance",),
    "9.2": ("gancourse.metrics._score",),
    "9.3": ("gancourse.metrics.mmd2_unbiased", "gancourse.metrics.kid"),
    "9.4": ("gancourse.metrics.precision_recall",),
    "10.2": ("gancourse.conditional.acgan_d_loss", "gancourse.conditional.acgan_g_loss"),
    "10.3": ("gancourse.cvae.reparameterize",),
    "10.4": ("gancourse.cvae.gaussian_kl",),
    "10.5": ("gancourse.losses.lsgan_d_loss", "gancourse.losses.lsgan_g_loss"),
}
