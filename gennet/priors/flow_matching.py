"""Learned priors over ``w`` by flow matching (DESIGN §12): the procedure (:class:`FlowMatching`) and the prior on the
coarse grid of ``w`` with a convolutional velocity field (:class:`FlowMatchingPrior`).

Embeddings are mapped to coordinates ``x`` — here standardized, ``x = (w − μ) / σ`` (``μ`` per coordinate, ``σ`` per
channel, from the training embeddings); :class:`~gennet.priors.PCAFlowPrior` uses principal coordinates. Flow matching with the linear (optimal-transport) path (Lipman et al., ICLR 2023; Liu et al.'s
rectified flow, ICLR 2023): with ``x₀ ~ N(0, I)`` and ``x₁`` a training embedding,

    x_t = (1 − t) x₀ + t x₁,      loss = E_{t ~ U[0,1]} ‖v_θ(x_t, t) − (x₁ − x₀)‖²,

and sampling integrates ``dx/dt = v_θ(x, t)`` from ``x₀ = T·ξ`` (``T`` the temperature, ``ξ`` white noise) at
``t = 0`` to ``t = 1`` with ``steps`` fixed steps of Heun's method (or Euler's). The same ODE run backwards maps
an embedding to its noise (:meth:`to_noise`), so interpolating noises and integrating forward stays on the
prior's support.

Multiscale form (``condition_channels``, e.g. the low-pass channel of ``w``; seed 001's coarse-grain model,
Guth, Coste, De Bortoli & Mallat 2022): during training the clean conditioned channels are given to the
network with probability ``1 − p_uncond`` (and a 0/1 plane says whether they are), so one network learns both
``p(w)`` and ``p(w_band | w_low)``. :meth:`sample` draws ``w`` unconditionally; :meth:`condition` returns a
sampler of the bands given ``w_low`` (the conditioned channels are copied into every draw).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor

from .prior import Prior, register_prior
from .velocity import ConvVelocity

__all__ = ["FlowMatching", "FlowMatchingPrior", "ConditionalFlowSampler"]


class FlowMatching(Prior):
    """Flow matching over coordinates ``x`` of ``w`` (module docstring): the loss, a plain training loop, the ODE and
    the noise-space maps, common to :class:`FlowMatchingPrior` (the coarse grid of ``w``) and
    :class:`~gennet.priors.PCAFlowPrior` (principal coordinates of ``w``).

    Subclasses set ``self.shape``, ``self.steps``, ``self.solver``, the buffers ``fitted`` (bool) and ``mean`` (float32,
    on the prior's device: it fixes the device and dtype of the flow) and a module ``network``, and
    implement :meth:`fit_statistics_`, :meth:`standardize` (``w → x``), :meth:`unstandardize` (``x → w``),
    :attr:`noise_shape` (the shape of one ``x``) and :meth:`velocity`; :meth:`_given` / :meth:`_condition` say which
    examples are conditioned and on what (nothing by default).
    """

    supports_noise = True
    condition_channels: list[int] = []

    @property
    def noise_shape(self) -> tuple[int, ...]:
        """The shape of one point ``x`` of the flow (and of its noise)."""
        return tuple(self.shape)

    def fit_statistics_(self, train: Tensor) -> FlowMatching:  # pragma: no cover - interface
        raise NotImplementedError

    def standardize(self, w: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def unstandardize(self, x: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def velocity(self, x: Tensor, t: Tensor, condition: Tensor | None) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def _given(self, B: int, device, generator: torch.Generator | None) -> Tensor:
        """``(B,)`` bool: which training examples are shown their conditioned channels (none by default)."""
        return torch.zeros(B, dtype=torch.bool, device=device)

    def _condition(self, x1: Tensor | None, given: Tensor) -> Tensor | None:
        return None

    # -- training -----------------------------------------------------------------------------------
    def loss(self, w: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """The flow-matching loss of a batch of embeddings ``(B, C_w, h, w)`` (a scalar, mean over coordinates).

        ``t``, ``x₀`` and which examples are conditioned are drawn from ``generator`` on the batch's device (the
        global generator when ``None``)."""
        x1 = self.standardize(w)
        B, device = x1.shape[0], x1.device
        t = torch.rand(B, device=device, generator=generator)
        x0 = torch.randn(x1.shape, device=device, generator=generator)
        given = self._given(B, device, generator)
        s = t.view(B, *([1] * (x1.ndim - 1)))
        xt = (1 - s) * x0 + s * x1
        return (self.velocity(xt, t, self._condition(x1, given)) - (x1 - x0)).square().mean()

    def fit_(self, train: Tensor, val: Tensor | None = None, steps: int = 2000, batch_size: int = 128, lr: float = 2e-3,
             ema: float = 0.999, seed: int = 0) -> FlowMatching:
        """A plain training loop (Adam, cosine learning rate, exponential moving average of the weights kept as
        the final weights) for small cases — notebooks, tests; ``train_prior.py`` trains with Lightning.
        ``val`` (optional) is scored at the end: ``self.val_loss``."""
        self.fit_statistics_(train)
        generator = torch.Generator(device=self.mean.device).manual_seed(seed)
        order_generator = torch.Generator().manual_seed(seed)
        average = copy.deepcopy(self.network).requires_grad_(False)
        optimizer = torch.optim.Adam(self.network.parameters(), lr=lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
        train = train.to(self.mean.device)
        self.network.train()
        for _ in range(steps):
            index = torch.randint(train.shape[0], (min(batch_size, train.shape[0]),), generator=order_generator)
            loss = self.loss(train[index.to(train.device)], generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                for a, p in zip(average.parameters(), self.network.parameters()):
                    a.lerp_(p, 1 - ema)
        self.network.load_state_dict(average.state_dict())
        self.network.eval()
        if val is not None:
            with torch.no_grad():
                self.val_loss = float(self.loss(val.to(self.mean.device), torch.Generator(device=self.mean.device).manual_seed(1)))
        return self

    # -- integration --------------------------------------------------------------------------------
    @torch.no_grad()
    def integrate(self, x: Tensor, condition: Tensor | None, start: float = 0.0, end: float = 1.0, steps: int | None = None) -> Tensor:
        """Integrate ``dx/dt = v_θ(x, t, c)`` from ``t = start`` to ``end`` (either direction), standardized units."""
        steps = self.steps if steps is None else int(steps)
        times = torch.linspace(start, end, steps + 1, device=x.device)
        for k in range(steps):
            t0, t1 = times[k], times[k + 1]
            h = t1 - t0
            v0 = self.velocity(x, t0.expand(x.shape[0]), condition)
            if self.solver == "euler":
                x = x + h * v0
            else:
                guess = x + h * v0
                x = x + h / 2 * (v0 + self.velocity(guess, t1.expand(x.shape[0]), condition))
        return x

    def _noise(self, n: int, generator: torch.Generator | None) -> Tensor:
        return torch.randn(n, *self.noise_shape, generator=generator).to(self.mean.device)

    def _require_fit(self) -> None:
        if not bool(self.fitted):
            raise ValueError(f"{type(self).__name__}: fit it (fit_, or train_prior.py) before sampling")

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0, batch_size: int = 500) -> Tensor:
        """``n`` embeddings ``(n, C_w, h, w)`` float32: ``x₀ = temperature·ξ`` (``ξ`` drawn on the CPU from ``generator``)
        integrated to ``t = 1``, unstandardized."""
        self.check_draw(n, temperature)
        self._require_fit()
        noise = temperature * self._noise(n, generator)
        return torch.cat([self.from_noise(chunk) for chunk in noise.split(batch_size)])

    @torch.no_grad()
    def from_noise(self, noise: Tensor) -> Tensor:
        """The embedding ``(B, C_w, h, w)`` at ``t = 1`` of the flow started at ``noise: (B, *noise_shape)``.

        Raises:
            ValueError: noise of another shape, an unfitted prior."""
        self._require_fit()
        if tuple(noise.shape[1:]) != self.noise_shape:
            raise ValueError(f"expected noise (B, {', '.join(map(str, self.noise_shape))}), got {tuple(noise.shape)}")
        noise = noise.to(self.mean)
        given = torch.zeros(noise.shape[0], dtype=torch.bool, device=noise.device)
        return self.unstandardize(self.integrate(noise, self._condition(None, given)))

    @torch.no_grad()
    def to_noise(self, w: Tensor) -> Tensor:
        """The noise ``(B, *noise_shape)`` whose flow ends at ``w`` (the ODE integrated backwards from ``t = 1`` to 0)."""
        self._require_fit()
        x = self.standardize(w)
        given = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
        return self.integrate(x, self._condition(None, given), start=1.0, end=0.0)


@register_prior("flow")
class FlowMatchingPrior(FlowMatching):
    """Flow-matching prior over ``w: (C_w, h, w)`` with a :class:`~gennet.priors.ConvVelocity` network.

    Buffers: ``mean (C_w, h, w)``, ``std (C_w,)`` (float32), ``fitted``. Parameters: the network's.

    Args:
        shape: ``(C_w, h, w)``.
        width, depth, time_dim: of the network (:class:`~gennet.priors.ConvVelocity`).
        condition_channels: channels of ``w`` the network can be conditioned on (``[]``: unconditional only).
        p_uncond: probability that a training example is shown without its conditioned channels.
        steps: integration steps of :meth:`sample`, :meth:`to_noise`, :meth:`from_noise`.
        solver: ``"heun"`` (2 network calls per step, second order) or ``"euler"``.

    Raises:
        ValueError: bad arguments; from :meth:`sample`, an unfitted prior (no standardization statistics).

    Source: Y. Lipman et al., "Flow matching for generative modeling", ICLR 2023 (eq. 20–23, σ_min = 0);
    T. Karras et al., NeurIPS 2022, Alg. 1 (Heun's method); F. Guth et al., "Wavelet score-based generative
    modeling", NeurIPS 2022 (conditioning the bands on the coarse scale).
    """

    supports_noise = True

    def __init__(self, shape, width: int = 128, depth: int = 4, time_dim: int = 128, condition_channels: Sequence[int] = (),
                 p_uncond: float = 0.5, steps: int = 32, solver: str = "heun") -> None:
        super().__init__()
        shape = tuple(int(s) for s in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"shape must be (C_w, h, w) with positive sizes, got {shape}")
        condition_channels = sorted(int(c) for c in condition_channels)
        if len(set(condition_channels)) != len(condition_channels) or not all(0 <= c < shape[0] for c in condition_channels) \
                or len(condition_channels) == shape[0]:
            raise ValueError(f"condition_channels must be distinct channels in [0, {shape[0]}), not all, got {condition_channels}")
        if not 0 <= p_uncond <= 1 or (condition_channels and p_uncond == 0):
            raise ValueError(f"p_uncond must be in [0, 1] (> 0 with condition_channels), got {p_uncond}")
        if steps < 1 or solver not in ("heun", "euler"):
            raise ValueError(f"need steps >= 1 and solver 'heun' or 'euler', got {steps}, {solver!r}")
        self.shape = shape
        self.width, self.depth, self.time_dim = int(width), int(depth), int(time_dim)
        self.condition_channels, self.p_uncond = condition_channels, float(p_uncond)
        self.steps, self.solver = int(steps), solver
        self.supports_condition = bool(condition_channels)
        self.network = ConvVelocity(shape[0], len(condition_channels), self.width, self.depth, self.time_dim)
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("std", torch.ones(shape[0]))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def config(self) -> dict:
        return {"shape": list(self.shape), "width": self.width, "depth": self.depth, "time_dim": self.time_dim,
                "condition_channels": list(self.condition_channels), "p_uncond": self.p_uncond, "steps": self.steps,
                "solver": self.solver}

    # -- standardization ----------------------------------------------------------------------------
    @torch.no_grad()
    def fit_statistics_(self, train: Tensor) -> FlowMatchingPrior:
        """``μ`` (per coordinate) and ``σ`` (per channel) of the training embeddings ``(N, C_w, h, w)``."""
        train = self.check(train).to(self.mean.device, torch.float64)
        mean = train.mean(0)
        self.mean.copy_(mean.float())
        self.std.copy_((train - mean).square().mean((0, 2, 3)).sqrt().clamp_min(1e-8).float())
        self.fitted.fill_(True)
        return self

    def standardize(self, w: Tensor) -> Tensor:
        return (self.check(w).to(self.mean) - self.mean) / self.std[:, None, None]

    def unstandardize(self, x: Tensor) -> Tensor:
        return x * self.std[:, None, None] + self.mean

    # -- the network's inputs -----------------------------------------------------------------------
    def _condition(self, x1: Tensor | None, given: Tensor) -> Tensor:
        """``(B, C_c + 1, h, w)``: the standardized conditioned channels of ``x1`` where ``given`` (``(B,)`` bool), else 0, and
        the 0/1 plane."""
        B, (_, h, w) = given.shape[0], self.shape
        plane = given.to(self.mean.dtype)[:, None, None, None].expand(B, 1, h, w)
        if not self.condition_channels:
            return plane
        values = torch.zeros(B, len(self.condition_channels), h, w, device=self.mean.device) if x1 is None \
            else x1[:, self.condition_channels] * plane
        return torch.cat([values, plane], dim=1)

    def velocity(self, x: Tensor, t: Tensor, condition: Tensor) -> Tensor:
        """``v_θ(x, t, c)`` in standardized units: ``x: (B, C_w, h, w)``, ``t: (B,)``."""
        return self.network(x, t, condition)

    def _given(self, B: int, device, generator: torch.Generator | None) -> Tensor:
        if not self.condition_channels:
            return torch.zeros(B, dtype=torch.bool, device=device)
        return torch.rand(B, device=device, generator=generator) >= self.p_uncond

    def condition(self, channels: Sequence[int]) -> ConditionalFlowSampler:
        """A sampler of ``w`` given the ``channels`` of a ``w`` (they must be this prior's ``condition_channels``).

        Raises:
            ValueError: a prior trained without conditioning, or other channels.
        """
        if sorted(int(c) for c in channels) != self.condition_channels or not self.condition_channels:
            raise ValueError(f"this flow prior was trained conditioned on channels {self.condition_channels or 'none'}, "
                             f"not {sorted(int(c) for c in channels)} (train it with condition_channels)")
        return ConditionalFlowSampler(self)

    def extra_repr(self) -> str:
        return (f"shape={self.shape}, condition_channels={self.condition_channels}, steps={self.steps}, "
                f"solver={self.solver!r}")


class ConditionalFlowSampler:
    """``w_band | w_low`` for a :class:`FlowMatchingPrior` trained with ``condition_channels`` (coarse-grain sampling)."""

    def __init__(self, prior: FlowMatchingPrior) -> None:
        self.prior, self.shape, self.channels = prior, prior.shape, prior.condition_channels

    @torch.no_grad()
    def sample(self, w: Tensor, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """``n`` draws per condition: ``w: (B, C_w, h, w)`` → ``(B, n, C_w, h, w)`` float32; the conditioned channels of
        every draw are those of ``w``.

        Raises:
            ValueError: ``w`` of another shape, ``n < 1`` or a negative ``temperature``.
        """
        prior = self.prior
        prior.check_draw(n, temperature)
        prior._require_fit()
        x1 = prior.standardize(w).repeat_interleave(n, dim=0)
        given = torch.ones(x1.shape[0], dtype=torch.bool, device=x1.device)
        x = prior.integrate(temperature * prior._noise(x1.shape[0], generator), prior._condition(x1, given))
        out = prior.unstandardize(x)
        out[:, self.channels] = w.to(out).repeat_interleave(n, dim=0)[:, self.channels]
        return out.unflatten(0, (w.shape[0], n))
