"""Scattering transform ``S_J`` (DESIGN §7), with kymatio's layout and values, and phase scattering.

    S_J x = ( x ⋆ φ_J ,  |x ⋆ ψ_{j1,θ1}| ⋆ φ_J ,  ||x ⋆ ψ_{j1,θ1}| ⋆ ψ_{j2,θ2}| ⋆ φ_J )   (j1 < j2),
    sampled on the 2^J grid.

Source: S. Mallat, "Group invariant scattering", CPAM 2012; J. Bruna & S. Mallat, "Invariant
scattering convolution networks", TPAMI 2013; kymatio 0.3.0 (Andreux et al., JMLR 2020) for the
filters, padding and output layout reproduced here; phase scattering: J. Zarka, L. Thiry, T. Angles,
S. Mallat, "Deep network classification by scattering and dictionary learning", ICLR 2020.

Two implementations of the same values (kymatio's, ≤ 1e-6 relative), chosen by ``path`` on any device:

- ``"cpu"`` (designed for CPU caches): spectra of real maps come from ``rfft2`` and Hermitian symmetry; the real ψ̂
  multiply interleaved (re, im) pairs and the subsampling (mean of aliases) is accumulated block by block, never
  forming the full-size product; the batch is cut into chunks and the orientations θ1 visited one at a time so
  that the working set stays in cache (~2.9× kymatio on 2 CPU threads, benchmarks/bench_scattering.py). Many
  small operators (7,579 at J=4): launch-bound on a GPU.
- ``"gpu"`` (few, large kernels): per scale j1 one product of the input spectrum with the ``L`` filters (j1 = 0)
  or one gather + batched matmul over the alias blocks where they live (j1 ≥ 1,
  :mod:`~gennet.transforms.periodized`), one inverse FFT, one modulus, one low-pass for all θ1; per pair
  (j1, j2) the ``rfft2`` half spectra of the ``L`` moduli, one gather + batched matmul with the ``L`` filters
  ψ_{j2,θ2} for all ``L²`` paths at once (only the blocks where a filter exceeds 1e-8 of its peak: 14 of 64 at
  j2 − j1 = 3), one inverse FFT, one modulus, one low-pass — 154 aten operators per forward at J=4 (256², L=8).
  Memory traffic is dominated by the order-2 maps at resolution j2 = 1 (``B·C·L²`` complex maps of
  ``(M/2)²``); no product larger than its output is formed.

Both: the low-pass ``φ_J`` is separable, so ``(u ⋆ φ_J)`` subsampled is two small real matrix products.
"""

from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from ..compute_path import PATHS, check_path, resolve_path
from .filters import morlet_filter_bank, periodize_fourier
from .fourier import alias_blocks, fft2_real, filter_subsampled
from .periodized import exact_tolerance, filter_subsample, support_plan
from .rectifier import phase_angles, rectify_phases

__all__ = ["Scattering2D", "PATHS"]

#: ``path`` of :class:`Scattering2D`: ``"auto"`` picks ``"cpu"`` for CPU inputs and ``"gpu"`` on any other device.


def _padded_size(size: int, J: int) -> int:
    """kymatio's padded size: the next multiple of ``2^J`` after ``size + 2^J`` (at least ``2^J`` of margin)."""
    return ((size + 2**J) // 2**J + 1) * 2**J


def _reflect_pad(x: torch.Tensor, pads: tuple[int, int, int, int], size: tuple[int, int]) -> torch.Tensor:
    """Reflection padding ``(top, bottom, left, right)`` as kymatio's torch backend does it.

    Reflection cannot pad a side by the full signal length; kymatio then pads one less and repeats
    the second and second-to-last rows (columns), which this reproduces.
    """
    top, bottom, left, right = pads
    full_rows, full_cols = top == size[0], left == size[1]
    if full_rows:
        top, bottom = top - 1, bottom - 1
    if full_cols:
        left, right = left - 1, right - 1
    x = F.pad(x, (left, right, top, bottom), mode="reflect")
    if full_rows:
        x = torch.cat([x[..., 1:2, :], x, x[..., -2:-1, :]], dim=-2)
    if full_cols:
        x = torch.cat([x[..., :, 1:2], x, x[..., :, -2:-1]], dim=-1)
    return x


_CHUNK_PIXELS = 2**18  # pixels of padded input per batch chunk in forward, on CPU (cache-sized)
_CHUNK_PIXELS_ACCELERATOR = 2**25  # on GPUs: large chunks (few kernel launches), ~1 GB of complex maps


def _modulus(c: torch.Tensor) -> torch.Tensor:
    """``|c|`` of a complex tensor (``sqrt(re² + im²)``; faster than ``abs`` on CPU).

    When a gradient is needed, ``abs``: its derivative ``c/|c|`` is taken as 0 where ``c = 0`` (the square
    root's would be ``0/0 = nan``, e.g. for the gradient with respect to an image with a constant background).
    """
    if c.requires_grad:
        return c.abs()
    squares = torch.view_as_real(c).square()
    return (squares[..., 0] + squares[..., 1]).sqrt_()


class Scattering2D(nn.Module):
    """2-D scattering transform of order 1 or 2, identical in layout and values to kymatio's ``Scattering2D``.

    Input ``(*batch, M, N)`` (e.g. ``(B, C, M, N)``), float32 or float64. The image is reflection-padded
    to kymatio's size (``((M + 2^J) // 2^J + 1)·2^J``), transformed with periodic convolutions by the
    Morlet filters of :func:`~gennet.transforms.filters.morlet_filter_bank`, and the border of one
    coarse sample is removed, so the output is ``(*batch, K, M_J, N_J)`` with ``M_J = M_pad/2^J − 2``
    (``= M / 2^J`` when ``2^J`` divides ``M``) and channels in kymatio's order:

    - ``K = 1 + J·L`` for ``max_order=1``; ``K = 1 + J·L + L²·J(J−1)/2`` for ``max_order=2``:
      index 0 is ``x ⋆ φ_J``, then ``(j1, θ1)`` (j1-major), then ``(j1, θ1, j2, θ2)`` for ``j2 > j1``.
    - With ``phases=A`` (even, ≥ 4): phase scattering — order 1 is ``ρ(Re(e^{-iα_a} x ⋆ ψ)) ⋆ φ_J``,
      ``α_a = 2πa/A``, in the order ``(j1, θ1, a)``: ``K = 1 + A·J·L (+ L²·J(J−1)/2)``; order 2 is still
      computed from the modulus. For RGB at J=4, L=8, A=4: ``3·K = 1539`` channels.

    Args:
        J: number of scales, ``2**J ≤ min(M, N)``.
        shape: ``(M, N)`` input size in pixels.
        L: number of orientations.
        max_order: 1 or 2.
        phases: ``None`` (modulus, kymatio's transform) or the number of phases ``A``.
        path: ``"auto"`` (``"cpu"`` for CPU inputs, ``"gpu"`` on any other device), ``"gpu"`` or ``"cpu"`` (see the
            module docstring); both give the same values and gradients, on any device.
        tolerance: GPU path only: alias blocks where every filter is below ``tolerance`` × its peak are skipped.
            ``None``: 1e-8 in float32, 1e-17 in float64 (exact to rounding). A larger value is a cropped-support
            approximation; measured at J=4 on 256² photographs: 1e-3 → 1.9e-7 relative to kymatio (as exact,
            9 instead of 14 blocks where j2 − j1 ≥ 2), 1e-2 → 1.9e-5 (worst channel 1.2e-3; 4 blocks everywhere).

    Input memory format: any (``channels_last``, non-contiguous views), also after ``module.to(memory_format=…)``.
    Filters: float64 non-persistent buffers (CPU path) and, for the GPU path, plans built on first use per
    device and dtype (a few MB to ~100 MB at 512², J=5). Computation in float32 (float64 inputs in float64; half
    precision inputs and autocast are computed in float32).

    Raises:
        ValueError: for ``2**J`` larger than the image, ``max_order`` not in {1, 2}, ``L < 1``, a phase
            count that is not even and ≥ 4, an unknown ``path``, a ``tolerance`` outside [0, 1); in ``forward``
            for an input of the wrong size.
    """

    def __init__(
        self,
        J: int,
        shape: tuple[int, int],
        L: int = 8,
        max_order: int = 2,
        phases: int | None = None,
        path: str = "auto",
        tolerance: float | None = None,
    ) -> None:
        super().__init__()
        self.path = check_path(path)
        M, N = (int(s) for s in shape)
        if J < 1 or 2**J > min(M, N):
            raise ValueError(f"J={J} does not fit images of size {M}×{N}: need 1 ≤ J and 2**J ≤ min(M, N)")
        if max_order not in (1, 2):
            raise ValueError(f"max_order must be 1 or 2, got {max_order}")
        if L < 1:
            raise ValueError(f"L must be ≥ 1, got {L}")
        if phases is not None and (phases < 4 or phases % 2):
            raise ValueError(f"phases must be None or an even number ≥ 4, got {phases}")
        self.J, self.L, self.max_order, self.phases = int(J), int(L), int(max_order), phases
        self.M, self.N = M, N
        self.M_padded, self.N_padded = _padded_size(M, J), _padded_size(N, J)
        self.pads = (
            (self.M_padded - M) // 2, (self.M_padded - M + 1) // 2,
            (self.N_padded - N) // 2, (self.N_padded - N + 1) // 2,
        )
        bank = morlet_filter_bank(self.M_padded, self.N_padded, self.J, self.L)
        for j in range(self.J):
            rows, cols = self._lowpass_matrices(periodize_fourier(bank.phi, j), 2 ** (self.J - j))
            self.register_buffer(f"phi_rows_{j}", rows, persistent=False)  # (M_J − 2, M_j)
            self.register_buffer(f"phi_cols_{j}", cols, persistent=False)  # (N_j, N_J − 2)
            # first-order wavelets ψ_{j, θ} at full resolution, output at resolution j
            self.register_buffer(f"psi_{j}", alias_blocks(bank.psi[j], 2**j), persistent=False)
            if max_order == 2:
                # second-order wavelets j2 > j at the resolution of |x ⋆ ψ_j|, output at resolution j2
                psi_j = periodize_fourier(bank.psi[j + 1 :], j)
                for k, j2 in enumerate(range(j + 1, self.J)):
                    self.register_buffer(f"psi_{j}_{j2}", alias_blocks(psi_j[k], 2 ** (j2 - j)), persistent=False)
        if phases is not None:
            cos_alpha, sin_alpha = phase_angles(phases)
            self.register_buffer("cos_alpha", cos_alpha, persistent=False)
            self.register_buffer("sin_alpha", sin_alpha, persistent=False)
        if tolerance is not None and not 0 <= tolerance < 1:
            raise ValueError(f"tolerance must be None or in [0, 1), got {tolerance}")
        self.tolerance = None if tolerance is None else float(tolerance)
        self._plans: dict[tuple[torch.device, torch.dtype], dict[str, torch.Tensor]] = {}  # GPU path, per device and dtype

    @staticmethod
    def _lowpass_matrices(phi_hat: torch.Tensor, s: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(u ⋆ φ_J)`` subsampled by ``s`` and unpadded, as ``rows @ u @ cols`` for a real ``u``.

        ``φ̂_J`` is an (axis-aligned) Gaussian, so its DFT ``phi_hat`` (``(M_j, N_j)``, real and even) is the
        outer product of its first column and row: the periodic convolution is separable, and keeping
        the samples ``s·(1..M_j/s − 2)`` of each 1-D convolution turns it into two small real matrices.
        """
        rows_hat, cols_hat = phi_hat[:, 0], phi_hat[0, :] / phi_hat[0, 0]
        matrices = []
        for kernel_hat in (rows_hat, cols_hat):
            size = kernel_hat.shape[0]
            kernel = torch.fft.ifft(kernel_hat).real  # (size,)
            samples = s * torch.arange(1, size // s - 1)
            matrices.append(kernel[(samples[:, None] - torch.arange(size)[None, :]) % size])
        return matrices[0], matrices[1].T.contiguous()

    def resolved_path(self, x: torch.Tensor) -> str:
        """``"gpu"`` or ``"cpu"``: the path ``forward(x)`` takes (``path="auto"`` follows ``x``'s device)."""
        return resolve_path(self.path, x)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(K, M_J, N_J)``: channels per input channel and the output grid."""
        A = self.phases or 1
        K = 1 + A * self.J * self.L
        if self.max_order == 2:
            K += self.L**2 * self.J * (self.J - 1) // 2
        return K, self.M_padded // 2**self.J - 2, self.N_padded // 2**self.J - 2

    @staticmethod
    def _lowpass(u: torch.Tensor, j: int, buffers: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(u ⋆ φ_J)`` on the 2^J grid, unpadded, for a real ``u`` at resolution ``j``: ``(..., M_j, N_j) → (..., M_J, N_J)``."""
        return buffers[f"phi_rows_{j}"] @ u @ buffers[f"phi_cols_{j}"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``S_J x``: ``(*batch, M, N)`` → ``(*batch, K, M_J, N_J)`` (see the class docstring); any memory format."""
        if x.dim() < 2 or tuple(x.shape[-2:]) != (self.M, self.N):
            raise ValueError(f"expected input of shape (..., {self.M}, {self.N}), got {tuple(x.shape)}")
        batch_shape = x.shape[:-2]
        dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        K, h, w = self.output_shape
        gpu = self.resolved_path(x) == "gpu"
        with torch.autocast(device_type=x.device.type, enabled=False):
            # (B, 1, M, N) in the standard layout whatever the input's strides (channels_last, slices, …)
            x = x.to(dtype).reshape(-1, 1, self.M, self.N).contiguous()
            x = _reflect_pad(x, self.pads, (self.M, self.N))  # (B, 1, Mp, Np)
            if gpu:
                plan = self._gpu_plan(x.device, dtype)
                chunk = max(1, _CHUNK_PIXELS_ACCELERATOR // (self.M_padded * self.N_padded))
                if x.shape[0] <= chunk:
                    out = self._scatter_gpu(x[:, 0], plan)
                else:
                    out = torch.cat([self._scatter_gpu(x[start : start + chunk, 0], plan) for start in range(0, x.shape[0], chunk)])
                return out.reshape(*batch_shape, *out.shape[1:])
            out = x.new_empty(x.shape[0], K, h, w)
            # standard layout whatever the module's memory format (model.to(memory_format=channels_last) converts 4-D buffers)
            buffers = {
                name: b.to(dtype=dtype, memory_format=torch.contiguous_format)
                for name, b in self.named_buffers() if name.startswith(("psi", "phi", "cos", "sin"))
            }
            # CPU: batch chunks small enough for the working set (a few complex maps) to stay in cache;
            # accelerators: large chunks, bounded for memory.
            pixels = _CHUNK_PIXELS if x.device.type == "cpu" else _CHUNK_PIXELS_ACCELERATOR
            chunk = max(1, pixels // (self.M_padded * self.N_padded))
            for start in range(0, x.shape[0], chunk):
                self._scatter(x[start : start + chunk], out[start : start + chunk], buffers)
        return out.reshape(*batch_shape, *out.shape[1:])

    # -- GPU path -------------------------------------------------------------------------------------------------
    def _gpu_plan(self, device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        """The filters of the GPU path in ``dtype`` on ``device`` (built once per device and dtype, then cached).

        ``psi0``: ``(L, Mp, Np)`` ψ̂_{0,θ}; ``index_j`` / ``weights_j``: :func:`~gennet.transforms.periodized.support_plan`
        of ψ̂_{j,θ} (full spectrum of ``x``, subsampling ``2^j``) for ``j ≥ 1``; ``index_j1_j2`` / ``weights_j1_j2``:
        of ψ̂_{j2,θ} periodized at resolution ``j1`` (half spectra of ``|x ⋆ ψ_{j1}|``, subsampling ``2^{j2−j1}``);
        ``rows_j`` / ``cols_j``: the separable low-pass; ``cos``/``sin``: the phases.
        """
        key = (torch.device(device), dtype)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        bank = morlet_filter_bank(self.M_padded, self.N_padded, self.J, self.L)
        tolerance = exact_tolerance(dtype) if self.tolerance is None else self.tolerance
        plan = {"psi0": bank.psi[0]}
        for j in range(self.J):
            plan[f"rows_{j}"], plan[f"cols_{j}"] = getattr(self, f"phi_rows_{j}"), getattr(self, f"phi_cols_{j}")
            if j:
                plan[f"index_{j}"], plan[f"weights_{j}"] = support_plan(bank.psi[j], 2**j, tolerance, half=False)
            if self.max_order == 2:
                psi_j = periodize_fourier(bank.psi[j + 1 :], j)
                for k, j2 in enumerate(range(j + 1, self.J)):
                    plan[f"index_{j}_{j2}"], plan[f"weights_{j}_{j2}"] = support_plan(psi_j[k], 2 ** (j2 - j), tolerance)
        if self.phases is not None:
            plan["cos"], plan["sin"] = self.cos_alpha.view(-1, 1, 1), self.sin_alpha.view(-1, 1, 1)
        plan = {
            k: v.to(device=device, dtype=dtype if v.is_floating_point() else v.dtype, memory_format=torch.contiguous_format)
            for k, v in plan.items()
        }
        self._plans[key] = plan
        return plan

    def _scatter_gpu(self, x: torch.Tensor, plan: dict[str, torch.Tensor]) -> torch.Tensor:
        """``S_J x`` ``(R, K, M_J, N_J)`` of the padded images ``x`` ``(R, Mp, Np)``, all orientations and paths of a
        resolution at once: per scale ``j1`` one product (or one gather + batched matmul) with the ``L`` filters, one
        inverse FFT, one modulus, one low-pass; per pair ``(j1, j2)`` one gather + batched matmul with the ``L``
        filters ψ_{j2, θ2} applied to the ``L`` maps ``|x ⋆ ψ_{j1, θ1}|`` (all ``L²`` paths), one inverse FFT, one
        modulus, one low-pass — about 10 operators per scale and per pair."""
        R, Mp, Np = x.shape
        J, L = self.J, self.L
        _, h, w = self.output_shape
        spectrum = torch.fft.fft2(x)  # (R, Mp, Np) complex
        first, second = [self._lowpass_gpu(x, 0, plan).unsqueeze(1)], []
        for j1 in range(J):
            if j1 == 0:
                c = torch.fft.ifft2(spectrum.unsqueeze(1) * plan["psi0"])  # (R, L, Mp, Np)
            else:
                shape = (Mp >> j1, Np >> j1)
                c = torch.fft.ifft2(filter_subsample(spectrum, plan[f"index_{j1}"], plan[f"weights_{j1}"], shape))
            modulus = c.abs()  # (R, L, M_j1, N_j1)
            if self.phases is None:
                first.append(self._lowpass_gpu(modulus, j1, plan))
            else:
                rectified = rectify_phases(c, plan["cos"], plan["sin"])  # (R, L, A, M_j1, N_j1)
                first.append(self._lowpass_gpu(rectified, j1, plan).reshape(R, -1, h, w))
            if self.max_order == 2 and j1 < J - 1:
                u = torch.fft.rfft2(modulus).reshape(R * L, *modulus.shape[-2:-1], -1)  # (R·L, M_j1, N_j1/2 + 1)
                paths = []
                for j2 in range(j1 + 1, J):
                    # frequency-major (M_j2, N_j2, R·L, L) all along: no transposition of the largest maps
                    z = filter_subsample(u, plan[f"index_{j1}_{j2}"], plan[f"weights_{j1}_{j2}"], (Mp >> j2, Np >> j2), False)
                    paths.append(self._lowpass_frequency_major(torch.fft.ifft2(z, dim=(0, 1)).abs(), j2, plan))
                second.append(torch.cat(paths, 1).reshape(R, -1, h, w))  # channels (θ1, j2, θ2)
        return torch.cat(first + second, 1)

    @staticmethod
    def _lowpass_frequency_major(u: torch.Tensor, j: int, plan: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(u ⋆ φ_J)`` on the 2^J grid, unpadded, for maps stored grid-first: ``(M_j, N_j, *rest)`` → ``(*rest, M_J, N_J)``.

        The columns first, as one batched product over the rows (reading ``u`` once), then the rows as one product."""
        M, N, rest = u.shape[0], u.shape[1], u.shape[2:]
        cols_t = plan[f"cols_{j}"].t()  # (N_J, N_j)
        v = torch.matmul(cols_t.expand(M, *cols_t.shape), u.reshape(M, N, -1))  # (M_j, N_J, X)
        w = (plan[f"rows_{j}"] @ v.reshape(M, -1)).view(-1, cols_t.shape[0], *rest)  # (M_J, N_J, *rest)
        return w.permute(*range(2, w.dim()), 0, 1)

    @staticmethod
    def _lowpass_gpu(u: torch.Tensor, j: int, plan: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(u ⋆ φ_J)`` on the 2^J grid, unpadded: ``(..., M_j, N_j) → (..., M_J, N_J)``, the wide product first."""
        return plan[f"rows_{j}"] @ (u @ plan[f"cols_{j}"])

    def _scatter(self, x: torch.Tensor, out: torch.Tensor, buffers: dict[str, torch.Tensor]) -> None:
        """Fill ``out`` ``(B, K, M_J, N_J)`` with ``S_J x`` for the padded ``x`` ``(B, 1, Mp, Np)``, one θ1 at a time."""
        J, L, A = self.J, self.L, self.phases or 1
        out[:, :1] = self._lowpass(x, 0, buffers)
        spectrum = fft2_real(x)  # (B, 1, Mp, Np)
        order2 = 1 + A * J * L  # first second-order channel
        for j1 in range(J):
            psi1 = buffers[f"psi_{j1}"]  # (s², L, M_j1, 2 N_j1)
            psi2 = [buffers[f"psi_{j1}_{j2}"] for j2 in range(j1 + 1, J)] if self.max_order == 2 else []
            width = len(psi2) * L  # second-order channels (j2, θ2) per θ1
            for theta1 in range(L):
                c = filter_subsampled(spectrum, psi1[:, theta1 : theta1 + 1])  # (B, 1, M_j1, N_j1)
                modulus = _modulus(c)
                n1 = j1 * L + theta1
                if self.phases is None:
                    out[:, 1 + n1 : 2 + n1] = self._lowpass(modulus, j1, buffers)
                else:
                    rectified = rectify_phases(c[:, 0], buffers["cos_alpha"], buffers["sin_alpha"])  # (B, A, M_j1, N_j1)
                    out[:, 1 + n1 * A : 1 + (n1 + 1) * A] = self._lowpass(rectified, j1, buffers)
                if width:
                    u1 = fft2_real(modulus)  # (B, 1, M_j1, N_j1)
                    base = order2 + theta1 * width
                    for k, j2 in enumerate(range(j1 + 1, J)):
                        u2 = _modulus(filter_subsampled(u1, psi2[k]))  # (B, L2, M_j2, N_j2)
                        out[:, base + k * L : base + (k + 1) * L] = self._lowpass(u2, j2, buffers)
            order2 += L * width

    def extra_repr(self) -> str:
        return f"J={self.J}, shape=({self.M}, {self.N}), L={self.L}, max_order={self.max_order}, phases={self.phases}"
