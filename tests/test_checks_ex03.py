"""Every check of assignment 03 passes the reference solution and rejects known-wrong implementations."""

import math

import numpy as np
import pytest
import torch
from checks_suite import cases_of, named_mistakes, suite

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
    slope = 0.5 * (1.0 - math.tanh(psi * theta / 2))  # f'(t) = 1 / (1 + e^t), safe for any t
    return psi * slope, theta * slope - gp_weight * psi


def steps_to_grow(lr, factor):
    return math.ceil(2 * math.log(factor) / math.log(1 + lr**2))


def test_other_correct_forms_pass():
    check.simultaneous_step(lambda x, y, lr: np.array([x - lr * y, y + lr * x]))  # an array, not a tuple
    check.spectral_radius(lambda m: max(abs(np.linalg.eigvals(m))))  # a NumPy scalar
    check.dirac_gan_grad(_dirac_exp_of_non_positive)  # exp of -|t| only
    with np.errstate(over="ignore"):  # np.exp overflows to inf, and 1 / (1 + inf) = 0 is the right limit
        check.dirac_gan_grad(lambda t, p, g: (p / (1 + np.exp(p * t)), t / (1 + np.exp(p * t)) - g * p))
    check.steps_to_grow(lambda lr, factor: np.int64(steps_to_grow(lr, factor)))  # a NumPy integer
    check.steps_to_grow(lambda lr, factor: float(steps_to_grow(lr, factor)))  # a whole float
    check.steps_to_grow(_steps_by_simulation)
    check.dirac_gan_grad(lambda t, p, g: np.array(dirac_gan_grad(t, p, g), dtype=np.float32))  # float32 precision
    check.extragradient_step(lambda x, y, lr: torch.tensor(extragradient_step(x, y, lr), dtype=torch.float32))


def _dirac_exp_of_non_positive(theta, psi, gp_weight):
    t = psi * theta
    slope = 1 / (1 + math.exp(t)) if t <= 0 else math.exp(-t) / (1 + math.exp(-t))
    return psi * slope, theta * slope - gp_weight * psi


def _steps_by_simulation(lr, factor):  # a right answer found by playing, not by the formula
    x, y, t = 1.0, 0.0, 0
    while math.hypot(x, y) < factor:
        x, y, t = x - lr * y, y + lr * x, t + 1
    return t


# ---------------------------------------------------------------- mutants: (wrong, the words its failure must hold)


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


def _sig(t):
    return 1.0 / (1.0 + math.exp(-t))


def _safe(fn):
    """The mutant with its overflows turned into the large-argument limits, so that only its mistake is tested."""

    def wrapped(t, p, g):
        try:
            return fn(t, p, g)
        except OverflowError:
            return (0.0, -g * p) if p * t > 0 else (p, t - g * p)

    return wrapped


TABLE = {  # check: (the right answer, [(a wrong one, the words its failure must hold), ...])
    "simultaneous_step": (
        simultaneous_step,
        [
            (lambda x, y, lr: (x - lr * y, y + lr * (x - lr * y)), "NEW x"),  # alternating: y reads the new x
            (lambda x, y, lr: (x - lr * y, y - lr * x), "ASCEND"),  # the ascent step's sign flipped
            (lambda x, y, lr: (x + lr * y, y + lr * x), "DESCEND"),  # the descent step's sign flipped
            (lambda x, y, lr: (x - lr * x, y + lr * y), "OTHER player"),  # own position as the gradient
            (lambda x, y, lr: (x - y, y + x), "both from the old"),  # forgot the step size
            (lambda x, y, lr: x - lr * y, "two numbers"),  # returns only x
        ],
    ),
    "extragradient_step": (
        extragradient_step,
        [
            (_eg_at_old_point, "plain simultaneous step"),
            (_eg_from_half, "two simultaneous steps"),
            (_eg_wrong_components, "x descends along y_half"),
            (_eg_sign, "y_half"),
        ],
    ),
    "spectral_radius": (
        spectral_radius,
        [
            (lambda m: float(np.linalg.norm(m, 2)), "SINGULAR"),  # the operator norm
            (lambda m: float(np.max(np.linalg.eigvals(m).real)), "MODULUS"),  # the largest real part
            (lambda m: float(np.max(np.abs(np.linalg.eigvals(m).real))), "MODULUS"),  # moduli of the real parts
            (lambda m: float(np.max(np.abs(np.linalg.eigvals(m)))) ** 2, "MODULUS"),  # squared
            (lambda m: float(np.abs(np.linalg.det(m))), "MODULUS"),  # |det|: the product, not the largest
        ],
    ),
    "dirac_gan_grad": (
        dirac_gan_grad,
        [  # each with its overflows turned into the large-argument limits: only its mistake is tested
            (
                _safe(lambda t, p, g: (p * _sig(-p * t), t * _sig(-p * t) + g * p)),
                "Exercise 3.4",
            ),  # penalty sign flipped
            (_safe(lambda t, p, g: (p * _sig(-p * t) - g * t, t * _sig(-p * t))), "Exercise 3.4"),  # penalty on G
            (_safe(lambda t, p, g: (p * _sig(-p * t), t * _sig(-p * t))), "Exercise 3.4"),  # the penalty forgotten
            (_safe(lambda t, p, g: (p * _sig(p * t), t * _sig(p * t) - g * p)), "Exercise 3.4"),  # sigmoid(t)
            (_safe(lambda t, p, g: (t * _sig(-p * t), p * _sig(-p * t) - g * p)), "Exercise 3.4"),  # components swapped
            (_safe(lambda t, p, g: (p * _sig(-p * t), t * _sig(-p * t) - g * p / 2)), "Exercise 3.4"),  # g/2, not g
        ],
    ),
    "steps_to_grow": (
        steps_to_grow,
        [
            (lambda lr, f: 140, "Exercise 3.5"),  # the number the assignment's cell prints for lr = 0.1, factor 2
            (lambda lr, f: math.ceil(2 * math.log(f) / lr**2), "Exercise 3.5"),  # the approximation exp(lr^2 t / 2)
            (lambda lr, f: math.ceil(math.log(f) / math.log(1 + lr**2)), "Exercise 3.5"),  # forgot the square root
            (lambda lr, f: math.ceil(math.log(f) / math.log(1 + lr)), "Exercise 3.5"),  # (1 + lr)^t >= factor
            (lambda lr, f: math.floor(2 * math.log(f) / math.log(1 + lr**2)), "round up"),  # rounded down
            (lambda lr, f: round(2 * math.log(f) / math.log(1 + lr**2)), "Exercise 3.5"),  # rounded to the nearest
            (lambda lr, f: 2 * math.log(f) / math.log(1 + lr**2), "round up"),  # not a whole number of steps
            (lambda lr, f: math.ceil(2 * math.log(f) / math.log(1 + lr**2)) + 1, "Exercise 3.5"),  # one step too many
        ],
    ),
}

CASES = cases_of(TABLE)

(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(check, CASES, "3")


test_the_mistake_is_named = named_mistakes(check, TABLE)


def _dirac_math_exp(theta, psi, gp_weight):  # right for small psi * theta; math.exp(900) overflows
    slope = 1.0 / (1.0 + math.exp(psi * theta))
    return psi * slope, theta * slope - gp_weight * psi


def _dirac_exp_ratio(theta, psi, gp_weight):  # np.exp(-t) / (1 + np.exp(-t)) is inf / inf = nan at t = -900
    e = np.exp(-psi * theta)
    return psi * e / (1 + e), theta * e / (1 + e) - gp_weight * psi


def test_dirac_gan_grad_rejects_an_unsafe_slope():
    with pytest.raises(CheckFailed, match=r"OverflowError[\s\S]*exp of a non-positive number"):
        check.dirac_gan_grad(_dirac_math_exp)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(CheckFailed, match=r"nan[\s\S]*inf / inf"):
        check.dirac_gan_grad(_dirac_exp_ratio)


def test_answers_that_are_not_one_number_are_told_so():
    with pytest.raises(CheckFailed, match="steps_to_grow.* should be one number"):
        check.steps_to_grow(lambda lr, f: [1, 2])
    with pytest.raises(CheckFailed, match="spectral radius .* should be one number"):
        check.spectral_radius(lambda m: np.abs(np.linalg.eigvals(m)))  # all the moduli, not the largest


@pytest.mark.parametrize("lr, factor", check.GROWTH_CASES)
def test_the_growth_cases_are_what_the_simulation_shows_and_far_from_ties(lr, factor):
    from gancourse import games

    exact = 2 * math.log(factor) / math.log1p(lr**2)
    assert factor == 1.0 or 0.1 < exact - math.floor(exact) < 0.9  # no case decided by rounding
    r = games.radius(games.simulate((1.0, 0.0), math.ceil(exact) + 5, lr, "simultaneous"))
    assert int(np.argmax(r >= factor)) == steps_to_grow(lr, factor) == _steps_by_simulation(lr, factor)
