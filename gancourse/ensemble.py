"""Ensembles: K networks of one architecture held as one module with stacked weights, trained at once.

Seeds (or settings that share an architecture) train together: every Linear of the K members becomes one
StackedLinear whose weights are stacked, (K, out, in), and computes all K layers in one batched matrix
product (``torch.baddbmm``). Inputs and outputs gain a leading member axis: z (K, B, latent_dim) -> x (K, B, 2).
The members never mix: member k's output depends on its own weights and its own inputs only, the losses
reduce over each member's batch and the loop adds the members' losses, so member k's gradient is exactly the
one its own run would have. Adam and RMSProp update element by element, so one optimiser over the stacked
weights is K independent optimisers (with one learning rate). The loop (gancourse.train) gives each member
its own data, noise and logged losses. Used in notebooks/06_wgan.ipynb and 07_wgan_gp.ipynb.

    G, D = ensemble.stack_seeds(lambda: nets.toy_gan(hidden=128), seeds)  # member k starts as seed k's nets
    train(G, D, x, steps=...)                                              # K runs in one
    G_k = ensemble.member(G, k)                                            # an ordinary MLP: sample it, score it
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import nn

from gancourse.nets import MinibatchStd, MLPDiscriminator, MLPGenerator
from gancourse.validation import check_int, check_seed

# what stack() knows how to stack: containers, layers that act on each sample alone, and MinibatchStd
CONTAINERS = (nn.Sequential, MLPGenerator, MLPDiscriminator)
ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.GELU, nn.SiLU, nn.Identity, nn.Dropout)


class StackedLinear(nn.Module):
    """K Linear layers as one: x (K, B, in) -> (K, B, out), member k through its own weight (K, out, in) and bias."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.weight = nn.Parameter(weight)  # (K, out, in): nn.Linear's (out, in) for each member
        self.bias = None if bias is None else nn.Parameter(bias)  # (K, out)

    @classmethod
    def from_linears(cls, layers: Sequence[nn.Linear]) -> StackedLinear:
        """The layers' current weights, stacked (copies: the layers are left as they are)."""
        weight = torch.stack([m.weight.detach() for m in layers])
        bias = None if layers[0].bias is None else torch.stack([m.bias.detach() for m in layers])
        return cls(weight, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(x, self.weight.transpose(1, 2))  # (K, B, out)
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))  # (K, B, out) = b + x W^T

    def member(self, k: int) -> nn.Linear:
        """Member k's layer as an ordinary nn.Linear, with a copy of its current weights."""
        out_features, in_features = self.weight.shape[1:]
        layer = nn.utils.skip_init(  # no random init: the global generator is left alone
            nn.Linear, in_features, out_features, bias=self.bias is not None, device=self.weight.device,
            dtype=self.weight.dtype,
        )  # fmt: skip
        with torch.no_grad():
            layer.weight.copy_(self.weight[k])
            if self.bias is not None:
                layer.bias.copy_(self.bias[k])
        return layer

    def extra_repr(self) -> str:
        k, out_features, in_features = self.weight.shape
        return f"members={k}, in_features={in_features}, out_features={out_features}, bias={self.bias is not None}"


def members_of(net: nn.Module) -> int | None:
    """K if ``net`` is an ensemble of K members (made by stack), else None."""
    return getattr(net, "members", None)


def stack(nets: Sequence[nn.Module]) -> nn.Module:
    """One ensemble of K networks of one architecture; member k starts with a copy of ``nets[k]``'s weights.

    The networks must be MLPs (gancourse.nets' MLPGenerator, MLPDiscriminator, or an nn.Sequential) made of
    Linear layers, activations, Flatten, Dropout and MinibatchStd. The ensemble takes inputs (K, B, ...).
    Dropout draws the whole ensemble's masks at once: the same distribution as separate runs, other draws.
    """
    nets = _check_members(nets)
    ensemble = copy.deepcopy(nets[0])
    for name, module in list(ensemble.named_modules()):
        if isinstance(module, nn.Linear):
            _replace(ensemble, name, StackedLinear.from_linears([net.get_submodule(name) for net in nets]))
        elif isinstance(module, nn.Flatten):
            _replace(ensemble, name, _shift_flatten(module, +1))  # the member axis comes first
    ensemble.members = len(nets)
    return ensemble


def stack_pairs(pairs: Sequence[tuple[nn.Module, nn.Module]]) -> tuple[nn.Module, nn.Module]:
    """(stack of the Gs, stack of the Ds) from K pairs (G, D), e.g. ``stack_pairs([nets.toy_gan() for _ in seeds])``."""
    if not isinstance(pairs, (list, tuple)) or not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
        raise TypeError("stack_pairs takes a list of (G, D) pairs, one per member")
    return stack([G for G, _ in pairs]), stack([D for _, D in pairs])


def stack_seeds(make: Callable[[], tuple[nn.Module, nn.Module]], seeds: Sequence[int]) -> tuple[nn.Module, nn.Module]:
    """stack_pairs of ``make()`` built after torch.manual_seed(s) for each seed s, e.g.
    ``G, D = stack_seeds(lambda: nets.toy_gan(hidden=128), [0, 1, 2])``: member k starts as seed k's nets would.
    torch's global generator is left as it was."""
    if not isinstance(seeds, (list, tuple, range)) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty list of seeds, one per member, got {seeds!r}")
    pairs = []
    with torch.random.fork_rng(devices=[]):
        for i, seed in enumerate(seeds):
            torch.manual_seed(check_seed(seed, f"seeds[{i}]"))
            pairs.append(make())
    return stack_pairs(pairs)


def member(net: nn.Module, k: int) -> nn.Module:
    """Member k of an ensemble as an ordinary network (a copy with its current weights): sample it, score it."""
    n = members_of(net)
    if n is None:
        raise TypeError(f"member() takes an ensemble made by gancourse.ensemble.stack, got a {type(net).__name__}")
    k = check_int(k, "k", 0)
    if k >= n:
        raise ValueError(f"k must be a member of the ensemble, 0 to {n - 1}, got {k}")
    one = copy.deepcopy(net)
    for name, module in list(one.named_modules()):
        if isinstance(module, StackedLinear):
            _replace(one, name, module.member(k))
        elif isinstance(module, nn.Flatten):
            _replace(one, name, _shift_flatten(module, -1))
    one.members = None
    return one


def unstack(net: nn.Module) -> list[nn.Module]:
    """Every member of an ensemble as an ordinary network: [member(net, 0), ..., member(net, K - 1)]."""
    n = members_of(net)
    if n is None:
        raise TypeError(f"unstack() takes an ensemble made by gancourse.ensemble.stack, got a {type(net).__name__}")
    return [member(net, k) for k in range(n)]


def per_member(x: torch.Tensor, members: int | None) -> torch.Tensor:
    """The sum of ``x`` over all its entries: a scalar for one run, (K,) for an ensemble (summed per member)."""
    return x.sum() if members is None else x.flatten(1).sum(dim=1)


def _check_members(nets) -> list[nn.Module]:
    if not isinstance(nets, (list, tuple)):
        raise TypeError(f"stack takes a list of networks, one per member, got {type(nets).__name__}")
    if len(nets) == 0:
        raise ValueError("stack needs at least one network (K >= 1), got an empty list")
    first = nets[0]
    if not isinstance(first, CONTAINERS):
        raise TypeError(
            f"stack takes MLPs (MLPGenerator, MLPDiscriminator or nn.Sequential), got {type(first).__name__}"
        )
    for i, net in enumerate(nets):
        if not isinstance(net, nn.Module):
            raise TypeError(f"stack takes torch.nn.Module networks, got {type(net).__name__} at position {i}")
        if members_of(net) is not None:
            raise ValueError(f"network {i} is already an ensemble: stack ordinary networks")
        if type(net) is not type(first) or repr(net) != repr(first) or _shapes(net) != _shapes(first):
            raise ValueError(
                f"every member must have one architecture: network {i} ({type(net).__name__}) differs from network 0 "
                f"({type(first).__name__}) in its layers, sizes or sample shapes"
            )
        if {p.device for p in net.parameters()} | {p.dtype for p in net.parameters()} != _where(first):
            raise ValueError(f"network {i} is on another device or dtype than network 0: move them to one")
    for name, module in first.named_modules():
        if not isinstance(module, (*CONTAINERS, *ELEMENTWISE, nn.Linear, nn.Flatten, MinibatchStd)):
            raise TypeError(
                f"stack() does not know how to stack {type(module).__name__} (at {name or 'the top'}): it stacks "
                "MLPs of Linear layers, activations, Flatten, Dropout and MinibatchStd"
            )
    return list(nets)


def _shapes(net: nn.Module) -> tuple:
    sample_shapes = tuple(getattr(net, a, None) for a in ("latent_dim", "in_shape", "out_shape"))
    return sample_shapes + tuple((k, tuple(v.shape)) for k, v in net.state_dict().items())


def _where(net: nn.Module) -> set:
    return {p.device for p in net.parameters()} | {p.dtype for p in net.parameters()}


def _replace(root: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, child, new)


def _shift_flatten(module: nn.Flatten, by: int) -> nn.Flatten:
    """The Flatten that flattens the same sample dims once a member axis is in front (by=+1) or gone (by=-1)."""
    start, end = module.start_dim, module.end_dim
    return nn.Flatten(start + by if start >= 0 else start, end + by if end >= 0 else end)
