"""Every check of assignment 03 passes the reference solution and rejects known-wrong implementations."""

import math

import numpy as np
import pytest

from gancourse.checks import CheckFailed
from gancourse.checks import ex03 as check

# ---------------------------------------------------------------- reference solutions


def simultaneous_step(x, y, lr):
    return x - lr * y, y + lr * x


def extragradient_step(x, y, lr):
    x_half, y_half = x - lr * y, y + lr * x
    return x - lr * y_half, y + lr * x_half


def spectral_radius(matrix):
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


def dirac_gan_grad(theta, psi, gp_weight):
    slope = 1.0 / (1.0 + math.exp(psi * theta))
    return psi * slope, theta * slope - gp_weight * psi


ANSWER_3_5 = 140


def test_reference_solutions_pass(capsys):
    check.simultaneous_step(simultaneous_step)
    check.extragradient_step(extragradient_step)
    check.spectral_radius(spectral_radius)
    check.dirac_gan_grad(dirac_gan_grad)
    check.answer_doubling_steps(ANSWER_3_5)
    check.answer_doubling_steps(np.int64(140))
    out = capsys.readouterr().out
    assert all(f"Exercise 3.{k}: passed" in out for k in range(1, 6))


def test_other_correct_forms_pass():
    check.simultaneous_step(lambda x, y, lr: np.array([x - lr * y, y + lr * x]))  # an array, not a tuple
    check.spectral_radius(lambda m: max(abs(np.linalg.eigvals(m))))  # a NumPy scalar
    check.dirac_gan_grad(  # the tanh form of f'
        lambda t, p, g: (p * 0.5 * (1 - math.tanh(p * t / 2)), t * 0.5 * (1 - math.tanh(p * t / 2)) - g * p)
    )


# ---------------------------------------------------------------- mutants


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (lambda x, y, lr: (x - lr * y, y + lr * (x - lr * y)), "NEW x"),  # alternating: y reads the new x
        (lambda x, y, lr: (x - lr * y, y - lr * x), "ASCEND"),  # the ascent step's sign flipped
        (lambda x, y, lr: (x + lr * y, y + lr * x), "DESCEND"),  # the descent step's sign flipped
        (lambda x, y, lr: (x - lr * x, y + lr * y), "OTHER player"),  # own position as the gradient
        (lambda x, y, lr: (x - y, y + x), "both from the old"),  # forgot the step size
        (lambda x, y, lr: x - lr * y, "two numbers"),  # returns only x
    ],
)
def test_simultaneous_step_rejects(mutant, hint):
    with pytest.raises(CheckFailed, match=hint):
        check.simultaneous_step(mutant)


def _eg_at_old_point(x, y, lr):  # the gradient at the old point: a plain simultaneous step
    return x - lr * y, y + lr * x


def _eg_from_half(x, y, lr):  # stepping from the look-ahead point: two simultaneous steps
    xh, yh = x - lr * y, y + lr * x
    return xh - lr * yh, yh + lr * xh


def _eg_wrong_components(x, y, lr):  # x descends along x_half instead of y_half
    xh, yh = x - lr * y, y + lr * x
    return x - lr * xh, y + lr * yh


def _eg_sign(x, y, lr):  # the ascent sign flipped in the second step
    xh, yh = x - lr * y, y + lr * x
    return x - lr * yh, y - lr * xh


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (_eg_at_old_point, "plain simultaneous step"),
        (_eg_from_half, "two simultaneous steps"),
        (_eg_wrong_components, "x descends along y_half"),
        (_eg_sign, "y_half"),
    ],
)
def test_extragradient_step_rejects(mutant, hint):
    with pytest.raises(CheckFailed, match=hint):
        check.extragradient_step(mutant)


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (lambda m: float(np.linalg.norm(m, 2)), "SINGULAR"),  # the operator norm
        (lambda m: float(np.max(np.linalg.eigvals(m).real)), "MODULUS"),  # the largest real part
        (lambda m: float(np.max(np.abs(np.linalg.eigvals(m).real))), "MODULUS"),  # moduli of the real parts
        (lambda m: float(np.max(np.abs(np.linalg.eigvals(m)))) ** 2, "MODULUS"),  # squared
        (lambda m: float(np.abs(np.linalg.det(m))), "MODULUS"),  # |det|: the product, not the largest
    ],
)
def test_spectral_radius_rejects(mutant, hint):
    with pytest.raises(CheckFailed, match=hint):
        check.spectral_radius(mutant)


def _sig(t):
    return 1.0 / (1.0 + math.exp(-t))


@pytest.mark.parametrize(
    "mutant",
    [
        lambda t, p, g: (p * _sig(-p * t), t * _sig(-p * t) + g * p),  # the penalty's sign flipped
        lambda t, p, g: (p * _sig(-p * t) - g * t, t * _sig(-p * t)),  # the penalty on the generator
        lambda t, p, g: (p * _sig(-p * t), t * _sig(-p * t)),  # the penalty forgotten
        lambda t, p, g: (p * _sig(p * t), t * _sig(p * t) - g * p),  # f'(t) = sigmoid(t), not sigmoid(-t)
        lambda t, p, g: (t * _sig(-p * t), p * _sig(-p * t) - g * p),  # the two components swapped
        lambda t, p, g: (p * _sig(-p * t), t * _sig(-p * t) - g * p / 2),  # d/dpsi of g/2 psi^2 is g psi
    ],
)
def test_dirac_gan_grad_rejects(mutant):
    with pytest.raises(CheckFailed, match="Exercise 3.4"):
        check.dirac_gan_grad(mutant)


@pytest.mark.parametrize(
    "wrong",
    [
        139,  # the approximation exp(eta^2 t / 2) = 2
        70,  # forgot the square root: (1 + eta^2)^t >= 2
        8,  # (1 + eta)^t >= 2
        139.3,  # not rounded up to a whole step
        141,  # one step too many
    ],
)
def test_answer_doubling_steps_rejects(wrong):
    with pytest.raises(CheckFailed, match="Exercise 3.5"):
        check.answer_doubling_steps(wrong)


def test_the_answer_is_what_the_simulation_shows():
    from gancourse import games

    r = games.radius(games.simulate((1.0, 0.0), 300, 0.1, "simultaneous"))
    assert int(np.argmax(r >= 2)) == ANSWER_3_5


@pytest.mark.parametrize(
    "fn, name",
    [
        (check.simultaneous_step, "3.1"),
        (check.extragradient_step, "3.2"),
        (check.spectral_radius, "3.3"),
        (check.dirac_gan_grad, "3.4"),
    ],
)
def test_not_implemented_passes_through(fn, name):
    def stub(*args):
        raise NotImplementedError(f"Exercise {name}")

    with pytest.raises(NotImplementedError, match=f"Exercise {name}"):
        fn(stub)
