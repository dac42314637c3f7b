"""Tests for gancourse.games: the xy game's exact dynamics under each method, the Dirac-GAN, bad input."""

import math

import numpy as np
import pytest

from gancourse import games


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("start", [(1.0, 0.0), (0.3, -2.0), (-1.5, 0.7)])
def test_simultaneous_radius_grows_by_sqrt_one_plus_lr_squared(lr, start):
    traj = games.simulate(start, 50, lr, "simultaneous")
    r = games.radius(traj)
    np.testing.assert_allclose(r[1:] / r[:-1], math.sqrt(1 + lr**2), rtol=1e-12)
    np.testing.assert_allclose(r[-1], r[0] * (1 + lr**2) ** 25, rtol=1e-10)


def test_trajectory_shape_and_start():
    for method in games.METHODS:
        traj = games.simulate((1.0, 2.0), 7, 0.1, method)
        assert traj.shape == (8, 2) and traj.dtype == np.float64
        np.testing.assert_array_equal(traj[0], [1.0, 2.0])
    assert games.simulate((1.0, 2.0), 0, 0.1).shape == (1, 2)


@pytest.mark.parametrize("method", games.METHODS)
def test_first_steps_follow_the_update_rules(method):
    x, y, lr = 0.8, -0.3, 0.25
    step = games.simulate((x, y), 2, lr, method)
    if method == "simultaneous":
        expected = (x - lr * y, y + lr * x)
    elif method == "alternating":
        x1 = x - lr * y
        expected = (x1, y + lr * x1)
    elif method == "extragradient":
        xh, yh = x - lr * y, y + lr * x
        expected = (x - lr * yh, y + lr * xh)
    else:  # optimistic: the first step is a plain simultaneous step
        expected = (x - lr * y, y + lr * x)
    np.testing.assert_allclose(step[1], expected, rtol=1e-14)
    if method == "optimistic":  # second step: 2 g_1 - g_0
        (x0, y0), (x1, y1) = step[0], step[1]
        np.testing.assert_allclose(step[2], (x1 - lr * (2 * y1 - y0), y1 + lr * (2 * x1 - x0)), rtol=1e-14)


@pytest.mark.parametrize("method", games.METHODS)
@pytest.mark.parametrize("lr", [0.05, 0.3])
def test_update_matrix_reproduces_the_trajectory(method, lr):
    traj = games.simulate((0.6, -1.1), 20, lr, method)
    m = games.update_matrix(lr, method)
    state = np.array([0.6, -1.1, 0.6, -1.1]) if method == "optimistic" else np.array([0.6, -1.1])
    for t in range(1, 21):
        state = m @ state
        np.testing.assert_allclose(state[:2], traj[t], rtol=1e-10, atol=1e-12)


def test_eigenvalues_of_the_simultaneous_step():
    for lr in (0.1, 0.7):
        eig = np.sort_complex(np.linalg.eigvals(games.update_matrix(lr)))
        np.testing.assert_allclose(eig, [1 - 1j * lr, 1 + 1j * lr], rtol=1e-12)
        assert games.spectral_radius(games.update_matrix(lr)) == pytest.approx(math.sqrt(1 + lr**2), rel=1e-12)


@pytest.mark.parametrize("lr", [0.05, 0.3, 1.0, 1.9])
def test_alternating_stays_bounded(lr):
    m = games.update_matrix(lr, "alternating")
    assert np.linalg.det(m) == pytest.approx(1.0, abs=1e-12)
    vals, vecs = np.linalg.eig(m)
    np.testing.assert_allclose(np.abs(vals), 1.0, rtol=1e-12)
    kappa = np.linalg.cond(vecs)  # the orbit is an ellipse: the radius varies by at most this factor
    r = games.radius(games.simulate((1.0, 0.5), 5000, lr, "alternating"))
    assert r.max() <= r[0] * kappa * (1 + 1e-9)
    assert r.min() >= r[0] / kappa * (1 - 1e-9)
    assert r[-1] > 0.1 * r[0]  # bounded, but not converging either


def test_alternating_diverges_for_large_lr():
    assert games.spectral_radius(games.update_matrix(2.5, "alternating")) > 1  # det 1, but real eigenvalues
    r = games.radius(games.simulate((1.0, 0.0), 20, 2.5, "alternating"))
    assert r[-1] > 1e6 * r[0]


@pytest.mark.parametrize("method", ["extragradient", "optimistic"])
@pytest.mark.parametrize("lr", [0.05, 0.2, 0.5])
def test_extragradient_and_optimistic_converge(method, lr):
    steps = int(60 / lr**2)
    traj = games.simulate((1.0, -1.0), steps, lr, method)
    r = games.radius(traj)
    assert r[-1] < 1e-3 * r[0]
    rho = games.spectral_radius(games.update_matrix(lr, method))
    assert rho < 1
    half = steps // 2
    measured = (r[-1] / r[half]) ** (1 / (steps - half))  # contraction per step, late in the run
    assert measured == pytest.approx(rho, rel=0.01)


def test_extragradient_contracts_exactly():
    lr = 0.3
    r = games.radius(games.simulate((1.0, 2.0), 30, lr, "extragradient"))
    np.testing.assert_allclose(r[1:] / r[:-1], math.sqrt(1 - lr**2 + lr**4), rtol=1e-12)


def test_vector_field_of_the_xy_game():
    x, y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-2, 2, 3))
    u, v = games.vector_field(x, y)
    np.testing.assert_array_equal(u, -y)
    np.testing.assert_array_equal(v, x)
    assert np.all(u * x + v * y == 0)  # the field is tangent to circles around (0, 0)


def test_dirac_wgan_is_the_xy_game():
    grad = games.dirac_gan_grad(loss="wgan")
    for method in games.METHODS:
        np.testing.assert_allclose(
            games.simulate((1.0, 0.5), 30, 0.1, method, grad), games.simulate((1.0, 0.5), 30, 0.1, method), rtol=1e-14
        )


def test_dirac_gan_gradient_matches_finite_differences():
    gp = 0.7
    grad = games.dirac_gan_grad(gp)

    def loss(theta, psi):  # L = f(psi * theta) + f(0), f(t) = -log(1 + exp(-t))
        return -math.log1p(math.exp(-psi * theta)) - math.log(2)

    theta, psi, h = 0.8, -1.3, 1e-6
    gx, gy = grad(theta, psi)
    assert gx == pytest.approx((loss(theta + h, psi) - loss(theta - h, psi)) / (2 * h), rel=1e-6)
    d_penalised = (loss(theta, psi + h) - gp / 2 * (psi + h) ** 2 - loss(theta, psi - h) + gp / 2 * (psi - h) ** 2) / (
        2 * h
    )
    assert gy == pytest.approx(d_penalised, rel=1e-6)
    assert np.all(np.isfinite(grad(1e3, 1e3))) and np.all(np.isfinite(grad(-1e3, 1e3)))


def test_dirac_gan_without_penalty_does_not_converge_and_with_penalty_does():
    start = (1.0, 1.0)
    r_sim = games.radius(games.simulate(start, 2000, 0.1, "simultaneous", games.dirac_gan_grad()))
    assert r_sim[-1] > 1.5 * r_sim[0]
    r_alt = games.radius(games.simulate(start, 2000, 0.1, "alternating", games.dirac_gan_grad()))
    assert r_alt.min() > 0.9 * r_alt[0]
    for method in games.METHODS:
        r_gp = games.radius(games.simulate(start, 2000, 0.1, method, games.dirac_gan_grad(gp_weight=1.0)))
        assert r_gp[-1] < 1e-6


def _central_difference(fn, x, h=1e-6):
    return (fn(x + h) - fn(x - h)) / (2 * h)


def test_non_saturating_generator_descends_its_own_loss():
    grad = games.dirac_gan_grad(loss="non-saturating")
    theta, psi = 0.8, -1.3

    def f(t):  # f(t) = -log(1 + exp(-t))
        return -math.log1p(math.exp(-t))

    g_theta, g_psi = grad(theta, psi)
    assert g_theta == pytest.approx(_central_difference(lambda th: -f(-psi * th), theta), rel=1e-7)
    assert g_psi == pytest.approx(_central_difference(lambda ps: f(ps * theta) + f(0.0), psi), rel=1e-7)
    assert g_psi == games.dirac_gan_grad()(theta, psi)[1]  # the discriminator plays the same game


@pytest.mark.parametrize("theta, psi", [(0.3, 0.4), (-1.0, 2.0), (0.5, -0.2), (2.0, -3.0)])
def test_one_centred_penalty_is_wgan_gp_in_one_dimension(theta, psi):
    grad = games.dirac_gan_grad(0.7, loss="wgan", gp_center=1.0)
    penalised = _central_difference(lambda ps: ps * theta - 0.7 / 2 * (abs(ps) - 1.0) ** 2, psi)
    np.testing.assert_allclose(grad(theta, psi), (psi, penalised), rtol=1e-7)
    zero_centred = games.dirac_gan_grad(0.7, gp_center=0.0)(theta, psi)
    np.testing.assert_array_equal(zero_centred, games.dirac_gan_grad(0.7)(theta, psi))


@pytest.mark.parametrize("loss", ["gan", "non-saturating"])
@pytest.mark.parametrize("noise_std", [0.3, 1.0, 2.5])
@pytest.mark.parametrize("theta, psi", [(0.5, 1.2), (-1.0, 3.0), (2.0, -2.0), (0.0, 0.0)])
def test_instance_noise_is_the_expectation_over_blurred_samples(loss, noise_std, theta, psi):
    from scipy import integrate, stats

    grad = games.dirac_gan_grad(loss=loss, noise_std=noise_std)

    def slope(t):  # f'(t) = 1 / (1 + e^t)
        return 0.5 * (1 - math.tanh(t / 2))

    def expect(fn):  # E over e ~ N(0, noise_std^2)
        pdf = stats.norm(scale=noise_std).pdf
        return integrate.quad(lambda e: pdf(e) * fn(e), -12 * noise_std, 12 * noise_std, limit=200)[0]

    sign = -1 if loss == "non-saturating" else 1
    g_theta = expect(lambda e: psi * slope(sign * psi * (theta + e)))
    g_psi = expect(lambda e: (theta + e) * slope(psi * (theta + e)) - e * slope(-psi * e))
    np.testing.assert_allclose(grad(theta, psi), (g_theta, g_psi), rtol=1e-9, atol=1e-12)


def test_noise_free_fields_are_unchanged_by_the_noise_machinery():
    for loss in games.DIRAC_LOSSES:
        grad = games.dirac_gan_grad(0.3, loss=loss)
        theta, psi = 0.7, -0.4
        slope = 1.0 if loss == "wgan" else 1 / (1 + math.exp(psi * theta))
        expected_theta = psi * (1 / (1 + math.exp(-psi * theta)) if loss == "non-saturating" else slope)
        np.testing.assert_allclose(grad(theta, psi), (expected_theta, theta * slope - 0.3 * psi), rtol=1e-14)


def test_dirac_fields_work_on_grids():
    x, y = np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1, 1, 3))
    for kwargs in ({}, {"loss": "non-saturating"}, {"noise_std": 0.5}, {"gp_weight": 1.0, "gp_center": 1.0}):
        grad = games.dirac_gan_grad(**kwargs)
        u, v = games.vector_field(x, y, grad=grad)
        assert u.shape == v.shape == (3, 5)
        np.testing.assert_allclose((-u[2, 4], v[2, 4]), grad(2.0, 1.0), rtol=1e-14)


def _jacobian_at_equilibrium(grad, h=1e-6):
    columns = []
    for e in np.eye(2):
        plus = np.array(games.vector_field(h * e[0], h * e[1], grad=grad))
        minus = np.array(games.vector_field(-h * e[0], -h * e[1], grad=grad))
        columns.append((plus - minus) / (2 * h))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("noise_std", [0.5, 1.0, 2.0])
def test_instance_noise_linearises_like_r1_with_gamma_sigma_squared_over_two(noise_std):
    jac = _jacobian_at_equilibrium(games.dirac_gan_grad(noise_std=noise_std))
    np.testing.assert_allclose(jac, [[0.0, -0.5], [0.5, -(noise_std**2) / 2]], atol=1e-7)


@pytest.mark.parametrize("method", ["simultaneous", "alternating"])
def test_what_converges_locally(method):
    """Mescheder et al. 2018: instance noise and R1 converge; WGAN-GP and the non-saturating loss do not (linearly)."""
    start, steps, lr = (0.1, 0.1), 3000, 0.1
    r0 = math.hypot(*start)
    for kwargs in (
        {"noise_std": 1.0},
        {"noise_std": 0.5},
        {"gp_weight": 1.0},
        {"gp_weight": 0.3, "loss": "non-saturating"},
    ):
        r = games.radius(games.simulate(start, steps, lr, method, games.dirac_gan_grad(**kwargs)))
        assert r[-1] < 1e-6 * r0, kwargs
    for gp_weight in (0.5, 1.0, 2.0):
        wgan_gp = games.dirac_gan_grad(gp_weight, loss="wgan", gp_center=1.0)
        r = games.radius(games.simulate(start, steps, lr, method, wgan_gp))
        assert r[steps // 2 :].min() > 3 * r0, gp_weight  # pushed away from (0, 0), and kept away
    r = games.radius(games.simulate(start, steps, lr, method, games.dirac_gan_grad(loss="non-saturating")))
    assert r[-1] > (2 * r0 if method == "simultaneous" else 0.5 * r0)


def test_non_saturating_alternating_play_creeps_in_as_one_over_root_t():
    r = games.radius(
        games.simulate((1.0, 1.0), 16_000, 0.1, "alternating", games.dirac_gan_grad(loss="non-saturating"))
    )
    t = np.array([1000, 4000, 16_000])
    slopes = np.diff(np.log(r[t])) / np.diff(np.log(t))
    np.testing.assert_allclose(slopes, -0.5, atol=0.05)


def test_custom_grad_and_its_errors():
    traj = games.simulate((1.0, 1.0), 3, 0.5, grad=lambda x, y: (x, -y))  # f = x^2/2 - y^2/2: both converge
    np.testing.assert_allclose(traj[-1], [0.125, 0.125])
    with pytest.raises(TypeError, match="grad"):
        games.simulate((1.0, 1.0), 3, 0.1, grad="xy")
    with pytest.raises(ValueError, match="grad"):
        games.simulate((1.0, 1.0), 3, 0.1, grad=lambda x, y: (x, y, 0.0))


def test_simulate_does_not_touch_global_random_state():
    state = np.random.get_state()[1].copy()
    games.simulate((1.0, 1.0), 10, 0.1, "optimistic")
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_lr(lr):
    with pytest.raises(ValueError, match="lr"):
        games.simulate((1.0, 1.0), 10, lr)


@pytest.mark.parametrize("lr", ["0.1", None, True])
def test_lr_of_the_wrong_type(lr):
    with pytest.raises(TypeError, match="lr"):
        games.simulate((1.0, 1.0), 10, lr)


@pytest.mark.parametrize("start", [(float("nan"), 0.0), (0.0, float("inf")), (1.0, 2.0, 3.0), 1.0, [[1.0, 2.0]]])
def test_bad_start(start):
    with pytest.raises(ValueError, match="start"):
        games.simulate(start, 10, 0.1)


def test_start_of_the_wrong_type():
    with pytest.raises(TypeError, match="start"):
        games.simulate(("a", "b"), 10, 0.1)


def test_bad_method():
    with pytest.raises(ValueError, match="method.*'sgd'"):
        games.simulate((1.0, 1.0), 10, 0.1, "sgd")
    with pytest.raises(ValueError, match="method"):
        games.update_matrix(0.1, "Simultaneous")


def test_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        games.simulate((1.0, 1.0), -1, 0.1)
    with pytest.raises(TypeError, match="steps"):
        games.simulate((1.0, 1.0), 10.0, 0.1)


def test_bad_dirac_arguments():
    with pytest.raises(ValueError, match="gp_weight"):
        games.dirac_gan_grad(-1.0)
    with pytest.raises(TypeError, match="gp_weight"):
        games.dirac_gan_grad("1")
    with pytest.raises(ValueError, match="loss.*'lsgan'"):
        games.dirac_gan_grad(loss="lsgan")
    with pytest.raises(ValueError, match=r"noise_std \(the instance noise's standard deviation\).*-0.5"):
        games.dirac_gan_grad(noise_std=-0.5)
    with pytest.raises(ValueError, match="gp_center"):
        games.dirac_gan_grad(1.0, gp_center=float("nan"))
    with pytest.raises(TypeError, match="noise_std must be a number, got str"):
        games.dirac_gan_grad(noise_std="1")
    with pytest.raises(TypeError, match="gp_center"):
        games.dirac_gan_grad(gp_center=True)


def test_bad_radius_and_spectral_radius_input():
    with pytest.raises(ValueError, match="traj"):
        games.radius(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="matrix"):
        games.spectral_radius(np.zeros((2, 3)))
