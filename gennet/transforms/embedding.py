"""The embedding ``Φ = L∘U`` (DESIGN §2–§3): the rectified wavelet transform ``U`` with its exact linear inverse
``U⁻¹``, the projector ``L`` onto the 2^J grid, and their composition — first-order phase scattering.

    U x = ( x ⋆ φ_J ↓2^J ,  ρ(x ⋆ ψ_{j,θ,a}) ↓2^j )_{j,θ,a},   ψ_{j,θ,a} = Re(e^{-iα_a} ψ_{j,θ}),
    α_a = 2πa/A,  ρ(t) = max(t, 0);
    (L u)_{j,θ,a} = (u_{j,θ,a} ⋆ φ_J)(2^J n),      (L u)_φ = u_φ  (already x ⋆ φ_J on the 2^J grid).

Band ``j`` of ``U x`` lives on the ``H/2^j`` grid, where ``L`` filters with kymatio's low-pass at resolution ``j``
(``periodize_fourier(φ̂_J, j)``) and subsamples by ``2^(J−j)``; with a modulus in place of ρ this is exactly the
first order of kymatio's scattering, so ``Φ = L∘U`` is the "phase scattering" of Zarka et al. (ICLR 2020) on a
periodic domain. ``L`` is linear and not invertible; the dictionary restores what it loses.

Source: S. Mallat, "Interpretable deep neural networks" (lecture, seed 001: rectifiers act on phase;
U has a linear inverse since ρ(a) − ρ(−a) = a); T. Angles & F. Guth, generation as an inverse problem;
phase harmonics: Mallat, Zhang & Rochette, "Phase harmonic correlations and convolutional neural
networks", Information and Inference 2020.
"""

from __future__ import annotations

import torch
from torch import nn

from ..compute_path import check_path, resolve_path
from .filters import morlet_filter_bank, periodize_fourier
from .fourier import alias_mean, fft2_real, negate_frequency, tile
from .frame import WaveletCoefficients, check_image_shape, dual_operator
from .periodized import exact_tolerance, filter_subsample, support_plan
from .rectifier import phase_angles, rectify_phase_factors, rectify_phases
from .synthesis_gpu import dual_solve, inverse_gpu

__all__ = ["Embedding2D", "LowPass2D", "RectifiedWavelet2D", "WaveletCoefficients", "check_image_shape"]


class RectifiedWavelet2D(nn.Module):
    """The rectified wavelet transform ``U`` and its exact linear inverse (DESIGN §2).

    ``forward(x)`` computes, with periodic boundary conditions and Morlet filters of kymatio's
    parameters (:func:`~gennet.transforms.filters.morlet_filter_bank`),

        lowpass    = (x ⋆ φ_J)(2^J n)                                  (B, C, H/2^J, W/2^J)
        bands[j]   = ρ(Re(e^{-iα_a} x ⋆ ψ_{j,θ}))(2^j n),  α_a = 2πa/A   (B, C, L, A, H/2^j, W/2^j)

    **Inverse.** For even ``A ≥ 4``, the phase harmonics of ρ (DESIGN §2) give exactly
    ``x ⋆ ψ_{j,θ} = (4/A) Σ_a e^{iα_a} ρ(Re(e^{-iα_a} x ⋆ ψ_{j,θ}))`` (only the harmonic k = 1 of
    γ(α) = ρ(cos α) survives the sum, γ̂(1) = 1/4), so the complex wavelet coefficients are a linear
    function of ``U x``. ``inverse`` applies the canonical dual frame of the *subsampled* wavelet frame
    ``T`` to them: ``x = (T*T)⁻¹ T* (y_φ, c)``. Subsampling makes ``T*T`` non-diagonal in Fourier, but
    it only couples frequencies that alias onto each other on the coarsest grid, so it is
    block-diagonal with ``(H/2^J)(W/2^J)`` blocks of size ``4^J × 4^J``; their inverses are computed
    once in float64 and cached (memory ``H·W·4^J`` floats, e.g. 16 MB at 64×64, J=4; build cost
    ``O(H·W·16^J)``). Applying the inverse costs two FFTs of ``x``'s size per band and
    ``O(H·W·4^J)`` per channel. It is exact: ``U⁻¹ U x = x`` up to rounding (≈1e-7 relative in
    float32, ≈1e-15 in float64). On inputs outside the range of ``U`` (e.g. a dictionary's output)
    ``inverse`` is the same linear map: the least-squares synthesis from the recovered coefficients.

    Filters are float64 non-persistent buffers (they follow ``.to(device)``); computations run in
    the input's dtype (float32 or float64; half precision inputs are computed in float32). Any memory format.

    **Paths** (same values, chosen by ``path`` on any device; ``"auto"``: ``"cpu"`` for CPU tensors, else ``"gpu"``).
    CPU: per scale, the full-size products ``x̂ ψ̂_{j,θ}`` then the mean of their ``4^j`` aliases (and the tiled
    spectra times ψ̂ in the synthesis). GPU: scale 0 as one broadcast product with the ``L`` filters, the other
    scales and φ_J as one gather + batched matmul over the alias blocks where the filters exceed 1e-8 of their
    peak (1e-17 in float64), and the transpose of that in the synthesis
    (:mod:`~gennet.transforms.periodized`): no product larger than its output, a few operators per scale.

    Args:
        shape: ``(H, W)`` image size in pixels; both divisible by ``2**J``.
        J: number of scales, ``1 ≤ J`` and ``2**J ≤ min(H, W)``.
        L: number of orientations (θ = ℓπ/L).
        A: number of phases; even and ``≥ 4``.
        path: ``"auto"``, ``"gpu"`` or ``"cpu"`` (above).

    Raises:
        ValueError: if ``2**J > min(H, W)`` or ``2**J`` does not divide ``H`` or ``W``, if ``A`` is odd
            or ``< 4``, if ``L < 1``, an unknown ``path``; in ``forward``/``inverse`` if the input shape does not match.
    """

    def __init__(self, shape: tuple[int, int], J: int, L: int = 8, A: int = 4, path: str = "auto") -> None:
        super().__init__()
        self.path = check_path(path)
        self.H, self.W = check_image_shape(tuple(shape), J)
        if L < 1:
            raise ValueError(f"L must be ≥ 1, got L={L}")
        if A < 4 or A % 2:
            raise ValueError(
                f"A must be even and ≥ 4, got A={A}: with even A ≥ 4 both Re and Im of x⋆ψ are linear in U x"
            )
        self.J, self.L, self.A = int(J), int(L), int(A)
        bank = morlet_filter_bank(self.H, self.W, self.J, self.L)
        cos_alpha, sin_alpha = phase_angles(self.A)
        self.register_buffer("psi_hat", bank.psi.clone(), persistent=False)
        self.register_buffer("phi_hat", bank.phi.clone(), persistent=False)
        self.register_buffer("cos_alpha", cos_alpha, persistent=False)
        self.register_buffer("sin_alpha", sin_alpha, persistent=False)
        self._dual: torch.Tensor | None = None
        self._plans: dict[tuple[torch.device, torch.dtype], dict[str, torch.Tensor]] = {}  # GPU path, per device and dtype

    # -- shapes ---------------------------------------------------------------------------------
    @property
    def coarse_shape(self) -> tuple[int, int]:
        """``(H/2^J, W/2^J)``: the grid of the low-pass channel and of the embedding Φ."""
        return self.H // 2**self.J, self.W // 2**self.J

    def band_shape(self, j: int) -> tuple[int, int]:
        """``(H/2^j, W/2^j)``: the resolution of band ``j``."""
        return self.H // 2**j, self.W // 2**j

    def _check_image(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[-2:]) != (self.H, self.W):
            raise ValueError(f"expected images of shape (B, C, {self.H}, {self.W}), got {tuple(x.shape)}")

    @staticmethod
    def _work_dtype(t: torch.Tensor) -> torch.dtype:
        return torch.float64 if t.dtype == torch.float64 else torch.float32

    def dual_blocks(self) -> torch.Tensor:
        """The cached ``(h·w, 4^J, 4^J)`` float64 inverse blocks of ``T*T`` on this module's device."""
        if self._dual is None or self._dual.device != self.psi_hat.device:
            self._dual = dual_operator(self.H, self.W, self.J, self.L).to(self.psi_hat.device)
        return self._dual

    # -- U --------------------------------------------------------------------------------------
    def resolved_path(self, t: torch.Tensor) -> str:
        """``"gpu"`` or ``"cpu"``: the path taken for an input ``t`` (``path="auto"`` follows ``t``'s device)."""
        return resolve_path(self.path, t)

    def _gpu_plan(self, device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        """The GPU path's filters in ``dtype`` on ``device``, built once per device and dtype.

        ``psi0`` ``(L, H, W)``: ψ̂_{0,θ}; ``index_j`` / ``weights_j``: :func:`~gennet.transforms.periodized.support_plan`
        of ψ̂_{j,θ} (subsampling 2^j) for ``j ≥ 1`` and of φ̂_J (``j = J``, subsampling 2^J), on full spectra;
        ``synthesis_j``: the same weights times ``4^j`` (the synthesis ``Σ_θ ψ̂_θ tile(ĉ_θ)`` of ``inverse``); ``recover``,
        ``project_j``, ``phi``, ``dual``: the phase recovery, its adjoints, φ̂_J and the dual blocks of ``inverse``
        (:mod:`~gennet.transforms.synthesis_gpu`).
        """
        key = (torch.device(device), dtype)
        plan = self._plans.get(key)
        if plan is None:
            bank = morlet_filter_bank(self.H, self.W, self.J, self.L)
            tolerance = exact_tolerance(dtype)
            plan = {"psi0": bank.psi[0]}
            for j in range(1, self.J + 1):
                filters = bank.phi[None] if j == self.J else bank.psi[j]
                plan[f"index_{j}"], plan[f"weights_{j}"] = support_plan(filters, 2**j, tolerance, half=False)
                plan[f"synthesis_{j}"] = plan[f"weights_{j}"] * 4**j
            plan["cos"], plan["sin"] = self.cos_alpha.view(-1, 1, 1), self.sin_alpha.view(-1, 1, 1)
            plan["recover"] = torch.stack((self.cos_alpha, self.sin_alpha)) * (4.0 / self.A)  # (2, A), recover_complex
            plan["recover_t"] = plan["recover"].T
            for j in range(self.J):  # (2, A): the adjoint of recover_complex at scale j, times N_j/N (synthesis_gpu)
                plan[f"project_{j}"] = plan["recover"] / 4**j
            for j in range(1, self.J):
                plan[f"synthesis_t_{j}"] = plan[f"synthesis_{j}"].transpose(1, 2)
            plan["phi"], plan["dual"] = bank.phi, self.dual_blocks()  # T* of the low-pass, (T*T)⁻¹ (U⁻¹)
            plan = {
                k: v.to(device=device, dtype=dtype if v.is_floating_point() else v.dtype, memory_format=torch.contiguous_format)
                for k, v in plan.items()
            }
            plan["phases"] = torch.complex(plan["cos"], -plan["sin"])  # e^{-iα_a}, (A, 1, 1), rectify_phases' product
            self._plans[key] = plan
        return plan

    def complex_coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(x ⋆ φ_J ↓2^J, [x ⋆ ψ_{j,θ} ↓2^j]_j)``: the linear frame coefficients ``T x``.

        Returns ``lowpass (B, C, H/2^J, W/2^J)`` real and, per scale, ``(B, C, L, H/2^j, W/2^j)`` complex.

        CPU path: the full-size products ``x̂ ψ̂`` of a scale, then the mean of their aliases. GPU path: scale 0 as one
        broadcast product with the ``L`` filters; scales ``j ≥ 1`` and the low-pass as one gather + batched matmul
        over the alias blocks where the filters live (:func:`~gennet.transforms.periodized.filter_subsample`): about
        4 operators per scale, no product larger than its output.
        """
        self._check_image(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            if x.dtype != self._work_dtype(x):
                x = x.to(self._work_dtype(x))
            if self.resolved_path(x) == "gpu":
                B, C, H, W = x.shape
                plan = self._gpu_plan(x.device, x.dtype)
                spectrum = torch.fft.fft2(x.reshape(B * C, H, W))
                low = filter_subsample(spectrum, plan[f"index_{self.J}"], plan[f"weights_{self.J}"], self.coarse_shape)
                lowpass = torch.fft.ifft2(low).real.view(B, C, *self.coarse_shape)
                bands = [torch.fft.ifft2(spectrum.unsqueeze(1) * plan["psi0"]).view(B, C, self.L, H, W)]
                for j in range(1, self.J):
                    z = filter_subsample(spectrum, plan[f"index_{j}"], plan[f"weights_{j}"], self.band_shape(j))
                    bands.append(torch.fft.ifft2(z).view(B, C, self.L, *self.band_shape(j)))
                return lowpass, bands
            spectrum = fft2_real(x)
            phi = self.phi_hat.to(x.dtype)
            lowpass = torch.fft.ifft2(alias_mean(spectrum * phi, 2**self.J)).real
            psi = self.psi_hat.to(x.dtype)
            bands = [torch.fft.ifft2(alias_mean(spectrum[:, :, None] * psi[j], 2**j)) for j in range(self.J)]
        return lowpass, bands

    def forward(self, x: torch.Tensor) -> WaveletCoefficients:
        """``U x`` for images ``x: (B, C, H, W)`` (any memory format); see :class:`WaveletCoefficients` for the layout."""
        lowpass, complex_bands = self.complex_coefficients(x)
        if self.resolved_path(lowpass) == "gpu":  # ρ(Re(e^{-iα_a} c)) as one complex product: four operators a band
            phases = self._gpu_plan(lowpass.device, lowpass.dtype)["phases"]
            bands = tuple(rectify_phase_factors(c, phases) for c in complex_bands)
        else:
            bands = tuple(rectify_phases(c, self.cos_alpha, self.sin_alpha) for c in complex_bands)
        return WaveletCoefficients(lowpass, bands)

    # -- U⁻¹ ------------------------------------------------------------------------------------
    def recover_complex(self, band: torch.Tensor) -> torch.Tensor:
        """``(4/A) Σ_a e^{iα_a} u_a``: the complex coefficients ``x ⋆ ψ`` from a rectified band.

        ``band: (..., A, h, w)`` real → ``(..., h, w)`` complex. Exact for ``u = U x`` (even A ≥ 4).
        """
        cos = self.cos_alpha.to(band.dtype)[:, None, None]
        sin = self.sin_alpha.to(band.dtype)[:, None, None]
        scale = 4.0 / self.A
        return torch.complex((cos * band).sum(-3) * scale, (sin * band).sum(-3) * scale)

    def inverse(self, coeffs: WaveletCoefficients | tuple) -> torch.Tensor:
        """``U⁻¹``: images ``(B, C, H, W)`` from coefficients laid out as ``forward`` returns them.

        Linear in ``coeffs``; exact left inverse of ``forward``. Differentiable.

        Raises:
            ValueError: if the number of bands or a band's shape does not match the transform.
        """
        lowpass, bands = coeffs
        if len(bands) != self.J:
            raise ValueError(f"expected {self.J} bands, got {len(bands)}")
        B, C = lowpass.shape[:2]
        for j, band in enumerate(bands):
            expected = (B, C, self.L, self.A, *self.band_shape(j))
            if tuple(band.shape) != expected:
                raise ValueError(f"band {j}: expected shape {expected}, got {tuple(band.shape)}")
        if tuple(lowpass.shape[2:]) != self.coarse_shape:
            raise ValueError(f"lowpass: expected spatial shape {self.coarse_shape}, got {tuple(lowpass.shape[2:])}")
        with torch.autocast(device_type=lowpass.device.type, enabled=False):
            dtype = self._work_dtype(lowpass)
            lowpass = lowpass.to(dtype)
            if self.resolved_path(lowpass) == "gpu":  # one autograd function, its backward the adjoint written out
                return inverse_gpu(self, lowpass, bands, dtype)
            # T*: synthesis with the (real-in-Fourier) filters; zero insertion = tiling of the spectrum.
            synthesis = tile(fft2_real(lowpass), 2**self.J) * self.phi_hat.to(dtype)
            psi = self.psi_hat.to(dtype)
            wavelet_part = 0
            for j, band in enumerate(bands):
                c = self.recover_complex(band.to(dtype))  # (B, C, L, H_j, W_j)
                wavelet_part = wavelet_part + (psi[j] * tile(torch.fft.fft2(c), 2**j)).sum(2)
            # Real part in space = Hermitian symmetrization in Fourier.
            synthesis = synthesis + 0.5 * (wavelet_part + negate_frequency(wavelet_part).conj())
            # (T*T)⁻¹, block by block over alias classes; the blocks are real.
            spectrum = dual_solve(synthesis, self.dual_blocks().to(dtype), 2**self.J)
            return torch.fft.ifft2(spectrum).real

    def upsample_lowpass(self, lowpass: torch.Tensor) -> torch.Tensor:
        """The image seen through the low-pass channel alone: ``x ⋆ φ_J`` band-limited-interpolated to ``H × W``.

        ``lowpass: (B, C, H/2^J, W/2^J)`` (samples at pixels ``2^J n``) → ``(B, C, H, W)``: periodic sinc
        interpolation (zero-padding of the spectrum, Nyquist bins split in half), aligned with the
        sample positions. It is the baseline that shows what the wavelet bands add.
        """
        s = 2**self.J
        h, w = self.coarse_shape
        with torch.autocast(device_type=lowpass.device.type, enabled=False):
            lowpass = lowpass.to(self._work_dtype(lowpass))

            def ideal(n: int, size: int) -> torch.Tensor:
                k = torch.fft.fftfreq(size, d=1.0 / size, device=lowpass.device).abs()
                return torch.where(k < n / 2, 1.0, torch.where(k == n / 2, 0.5, 0.0)).to(lowpass.dtype)

            mask = ideal(h, self.H)[:, None] * ideal(w, self.W)[None, :]
            spectrum = tile(fft2_real(lowpass), s) * mask * (s * s)
            return torch.fft.ifft2(spectrum).real

    def extra_repr(self) -> str:
        return f"shape=({self.H}, {self.W}), J={self.J}, L={self.L}, A={self.A}"


class LowPass2D(nn.Module):
    """``L``: rectified coefficients → embedding ``w`` of shape ``(B, C·(1 + J·L·A), H/2^J, W/2^J)``.

    Channel layout of ``w``: input channel ``c`` major, then ``[lowpass, (j, θ, a) for j < J, θ < L, a < A]``
    (``j`` slowest, ``a`` fastest), like kymatio's ``(B, C, K, h, w)`` flattened.

    Args:
        shape: ``(H, W)`` image size (pixels), divisible by ``2**J``.
        J, L, A: scales, orientations, phases of the rectified transform it follows.

    Raises:
        ValueError: if ``2**J`` does not fit the shape; in ``forward`` if the coefficients do not match.
    """

    def __init__(self, shape: tuple[int, int], J: int, L: int = 8, A: int = 4) -> None:
        super().__init__()
        self.H, self.W = check_image_shape(tuple(shape), J)
        self.J, self.L, self.A = int(J), int(L), int(A)
        phi = morlet_filter_bank(self.H, self.W, self.J, self.L).phi
        for j in range(self.J):
            phi_j = periodize_fourier(phi, j)  # (H/2^j, W/2^j), real and even
            # Half spectrum for rfft2, and the same filter in space (for composing L with atoms).
            self.register_buffer(f"phi_hat_{j}", phi_j[:, : phi_j.shape[-1] // 2 + 1].clone(), persistent=False)
            self.register_buffer(f"phi_spatial_{j}", torch.fft.ifft2(phi_j).real.clone(), persistent=False)
        self._phi_cache: dict[tuple, torch.Tensor] = {}

    @property
    def coarse_shape(self) -> tuple[int, int]:
        return self.H // 2**self.J, self.W // 2**self.J

    @property
    def channels_per_input(self) -> int:
        """``1 + J·L·A``: embedding channels per input channel."""
        return 1 + self.J * self.L * self.A

    def phi_spatial(self, j: int) -> torch.Tensor:
        """``φ_J`` at resolution ``j`` in space: ``(H/2^j, W/2^j)`` float64, periodic, origin at index (0, 0)."""
        return getattr(self, f"phi_spatial_{j}")

    def average_band(self, band: torch.Tensor, j: int) -> torch.Tensor:
        """``(u ⋆ φ_J)(2^J n)`` for ``band: (..., H/2^j, W/2^j)`` at resolution ``j`` → ``(..., H/2^J, W/2^J)``."""
        dtype = torch.float64 if band.dtype == torch.float64 else torch.float32
        with torch.autocast(device_type=band.device.type, enabled=False):
            if band.dtype != dtype:
                band = band.to(dtype)
            size = band.shape[-2:]
            phi = getattr(self, f"phi_hat_{j}")
            key = (j, phi.device, dtype)
            if key not in self._phi_cache:  # φ̂ in the work dtype, once (no conversion operator per call)
                self._phi_cache[key] = phi.to(dtype)
            filtered = torch.fft.irfft2(torch.fft.rfft2(band) * self._phi_cache[key], s=size)
            s = 2 ** (self.J - j)
            return filtered[..., ::s, ::s]

    def forward(self, coeffs: WaveletCoefficients | tuple) -> torch.Tensor:
        """``L u`` for ``u = (lowpass (B, C, h, w), bands[j] (B, C, L, A, H/2^j, W/2^j))`` → ``(B, C(1+JLA), h, w)``."""
        lowpass, bands = coeffs
        if len(bands) != self.J:
            raise ValueError(f"expected {self.J} bands, got {len(bands)}")
        B, C, h, w = lowpass.shape
        if (h, w) != self.coarse_shape:
            raise ValueError(f"lowpass: expected spatial shape {self.coarse_shape}, got {(h, w)}")
        parts = [lowpass.unsqueeze(2)]
        if lowpass.dtype not in (torch.float32, torch.float64):
            parts[0] = parts[0].float()
        for j, band in enumerate(bands):
            if tuple(band.shape[-2:]) != (self.H // 2**j, self.W // 2**j):
                raise ValueError(f"band {j}: expected spatial shape {(self.H // 2**j, self.W // 2**j)}, got {tuple(band.shape[-2:])}")
            parts.append(self.average_band(band, j).reshape(B, C, self.L * self.A, h, w))
        return torch.cat(parts, dim=2).reshape(B, C * self.channels_per_input, h, w)

    def extra_repr(self) -> str:
        return f"shape=({self.H}, {self.W}), J={self.J}, L={self.L}, A={self.A}"


class Embedding2D(nn.Module):
    """``Φ(x) = L U x``: images ``(B, C, H, W)`` → ``w: (B, C·(1 + J·L·A), H/2^J, W/2^J)``.

    Lipschitz and stable to small deformations, not invertible (``L`` averages). Holds the
    rectified transform ``U`` (:class:`RectifiedWavelet2D`, exact inverse) and the projector ``L``
    (:class:`LowPass2D`) as submodules ``rectified`` and ``lowpass``; no learnable parameters.

    Args:
        shape: ``(H, W)`` image size in pixels, divisible by ``2**J``.
        J, L, A: scales, orientations, phases (A even ≥ 4).

    Raises:
        ValueError: as :class:`RectifiedWavelet2D`.
    """

    def __init__(self, shape: tuple[int, int], J: int, L: int = 8, A: int = 4) -> None:
        super().__init__()
        self.rectified = RectifiedWavelet2D(shape, J, L, A)
        self.lowpass = LowPass2D(shape, J, L, A)

    def out_channels(self, in_channels: int) -> int:
        """``C·(1 + J·L·A)``."""
        return in_channels * self.lowpass.channels_per_input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lowpass(self.rectified(x))
