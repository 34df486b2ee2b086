"""Theorems of scattering (DESIGN §9) checked numerically on Scattering2D (kymatio's filters)."""

import math

import pytest
import torch
import torch.nn.functional as F

from gennet.transforms import Scattering2D
from gennet.transforms.filters import morlet_filter_bank
from gennet.transforms.fourier import negate_frequency


@pytest.fixture(scope="module")
def astronaut() -> torch.Tensor:
    from skimage import color, data

    return torch.tensor(color.rgb2gray(data.astronaut()), dtype=torch.float64)


def _crop(image: torch.Tensor, dy: int = 0, dx: int = 0, size: int = 128, origin: int = 100) -> torch.Tensor:
    return image[origin + dy : origin + dy + size, origin + dx : origin + dx + size]


@pytest.mark.parametrize("M, J, L", [(64, 2, 4), (64, 3, 8), (96, 4, 8)])
def test_littlewood_paley_frame_bounds(M, J, L):
    """Σ_{j,θ} ½(|ψ̂(ω)|² + |ψ̂(−ω)|²) + |φ̂(ω)|² lies in [0.12, 1.05]. With kymatio's Morlet normalization the
    upper bound is 1.0001 (J=2, L=4), 1.014 (J=3) and 1.049 (J=4, L=8), not exactly ≤ 1: non-expansiveness
    holds up to that factor (and is far from tight in practice, see the next test)."""
    bank = morlet_filter_bank(M, M, J, L)
    lp = 0.5 * (bank.psi.pow(2).sum((0, 1)) + negate_frequency(bank.psi).pow(2).sum((0, 1))) + bank.phi.pow(2)
    assert 0.12 <= lp.min().item() and lp.max().item() <= 1.05


@pytest.mark.parametrize("J", [2, 3])
def test_non_expansive(astronaut, J):
    """‖S x − S y‖ ≤ ‖x − y‖ on random pairs, on a real image and its noisy copy, and on two real crops."""
    S = Scattering2D(J, (64, 64)).double()
    gen = torch.Generator().manual_seed(J)
    pairs = [(torch.randn(64, 64, generator=gen, dtype=torch.float64), torch.randn(64, 64, generator=gen, dtype=torch.float64))]
    x = _crop(astronaut, size=64)
    pairs.append((x, x + 0.05 * torch.randn(64, 64, generator=gen, dtype=torch.float64)))
    pairs.append((x, _crop(astronaut, 150, 200, size=64)))
    for a, b in pairs:
        assert (S(a) - S(b)).norm() <= (a - b).norm()


def test_local_translation_invariance(astronaut):
    """A translation by a ≪ 2^J pixels changes S x little, and less and less as J grows (Mallat 2012)."""
    x = _crop(astronaut)
    image_change = ((_crop(astronaut, 0, 1) - x).norm() / x.norm()).item()
    changes = []
    for J in (1, 2, 3, 4):
        S = Scattering2D(J, (128, 128)).double()
        Sx = S(x)
        changes.append([((S(_crop(astronaut, 0, a)) - Sx).norm() / Sx.norm()).item() for a in (1, 2)])
    for a in (0, 1):
        assert all(later < earlier for earlier, later in zip([c[a] for c in changes], [c[a] for c in changes][1:])), changes
    assert changes[-1][0] < 0.25 * image_change  # measured: 0.022 vs 0.122


@pytest.mark.parametrize("eps", [0.5, 1.0, 2.0])
def test_stability_to_small_deformations(astronaut, eps):
    """‖S x_τ − S x‖ ≤ C ‖∇τ‖_∞ ‖x‖ for x_τ(u) = x(u − τ(u)), τ a smooth displacement of amplitude eps pixels.
    Measured C (ratio below): 0.08–0.11 at J=3, 0.025–0.04 at J=4, while the image itself moves by 6–17%."""
    x = _crop(astronaut)
    H = x.shape[0]
    u = torch.linspace(-1, 1, H, dtype=torch.float64)
    gy, gx = torch.meshgrid(u, u, indexing="ij")
    tau_x, tau_y = eps * torch.sin(math.pi * gy), eps * torch.cos(math.pi * gx)  # pixels
    grad_tau = eps * math.pi / (H / 2)  # ‖∇τ‖_∞ (pixels per pixel)
    grid = torch.stack([gx + tau_x * 2 / H, gy + tau_y * 2 / H], dim=-1)[None]
    x_tau = F.grid_sample(x[None, None], grid, align_corners=True, padding_mode="reflection")[0, 0]
    ratios = {}
    for J in (3, 4):
        S = Scattering2D(J, (H, H)).double()
        ratios[J] = ((S(x_tau) - S(x)).norm() / (grad_tau * x.norm())).item()
    print(f"eps={eps}: ‖S x_τ − S x‖ / (‖∇τ‖_∞ ‖x‖) = {ratios}")
    assert ratios[4] < ratios[3] < 0.5
