"""The projector L and the embedding Φ = L∘U (DESIGN §3)."""

import pytest
import torch
from kymatio.scattering2d.backend.torch_backend import backend as kymatio_backend
from kymatio.scattering2d.core.scattering2d import scattering2d as kymatio_scattering2d
from kymatio.scattering2d.filter_bank import filter_bank as kymatio_filter_bank
from skimage.transform import resize

from gennet.transforms import Embedding2D, LowPass2D, RectifiedWavelet2D


def _kymatio_periodic_first_order(x: torch.Tensor, J: int, L: int) -> torch.Tensor:
    """kymatio's own scattering core, order 1, on the periodic grid (no padding): (B, 1 + J·L, h, w)."""
    M, N = x.shape[-2:]
    filters = kymatio_filter_bank(M, N, J, L)
    # kymatio's torch backend stores real tensors with a trailing dimension of 1 (its pad adds it,
    # its unpad removes it); here pad/unpad only do that, so the transform is periodic.
    phi = {"levels": [torch.from_numpy(level)[..., None] for level in filters["phi"]["levels"]], "j": J}
    psi = [{**p, "levels": [torch.from_numpy(level)[..., None] for level in p["levels"]]} for p in filters["psi"]]
    x = x.float()  # kymatio's filter bank is float32
    out = kymatio_scattering2d(x, lambda t: t[..., None], lambda t: t[..., 0], kymatio_backend, J, L, phi, psi, max_order=1)
    return out


@pytest.mark.parametrize("shape, J", [((32, 32), 2), ((64, 48), 3)])
def test_lowpass_of_modulus_is_kymatio_first_order(photographs, shape, J):
    """L applied to |x ⋆ ψ| (modulus in place of ρ) is kymatio's first-order scattering, periodic case."""
    L = 8
    x = torch.from_numpy(resize(photographs["camera"], shape, anti_aliasing=True))[None].contiguous()
    reference = _kymatio_periodic_first_order(x, J, L)[0]  # (1 + J·L, h, w)
    U = RectifiedWavelet2D(shape, J, L, A=4).double()
    lowpass_op = LowPass2D(shape, J, L, A=4).double()
    low, bands = U.complex_coefficients(x[None])
    ours = [low[0, 0]] + [lowpass_op.average_band(bands[j].abs(), j)[0, 0, theta] for j in range(J) for theta in range(L)]
    ours = torch.stack(ours)
    assert ours.shape == reference.shape
    assert (ours - reference.double()).norm() / reference.norm() < 1e-5  # float32 reference


def test_embedding_shape_and_channel_layout():
    C, J, L, A = 3, 2, 6, 4
    phi = Embedding2D((32, 48), J, L, A)
    x = torch.randn(2, C, 32, 48)
    w = phi(x)
    assert w.shape == (2, C * (1 + J * L * A), 8, 12) == (2, phi.out_channels(C), 8, 12)
    # channel c·(1+JLA) is the low-pass of input channel c, i.e. x ⋆ φ_J subsampled
    coeffs = phi.rectified(x)
    per = 1 + J * L * A
    for c in range(C):
        assert torch.allclose(w[:, c * per], coeffs.lowpass[:, c])
    # the last channel of input c is band J−1, orientation L−1, phase A−1
    last = phi.lowpass.average_band(coeffs.bands[J - 1][:, 1, L - 1, A - 1], J - 1)
    assert torch.allclose(w[:, 2 * per - 1], last, atol=1e-6)


def test_embedding_is_lipschitz_and_local_translation_stable(photographs):
    """‖Φx − Φy‖ ≤ C‖x − y‖ with a modest constant, and a 1-pixel shift moves Φ(x) much less than x."""
    phi = Embedding2D((64, 64), J=3).double()
    x = torch.from_numpy(resize(photographs["astronaut"], (64, 64), anti_aliasing=True))[None, None] * 2 - 1
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        y = x + 0.1 * torch.randn(x.shape, generator=gen, dtype=torch.float64)
        assert (phi(x) - phi(y)).norm() <= 1.0 * (x - y).norm()
    shifted = torch.roll(x, 1, dims=-1)
    relative_image = ((shifted - x).norm() / x.norm()).item()
    relative_embedding = ((phi(shifted) - phi(x)).norm() / phi(x).norm()).item()
    assert relative_embedding < 0.5 * relative_image


def test_lowpass_rejects_mismatched_coefficients():
    U = RectifiedWavelet2D((32, 32), J=2)
    L = LowPass2D((32, 32), J=3)
    with pytest.raises(ValueError):
        L(U(torch.randn(1, 1, 32, 32)))
