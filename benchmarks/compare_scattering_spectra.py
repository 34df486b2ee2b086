"""Our scattering spectra against the anchor's on the same images: S. Cheng's ``Scattering2d.scattering_cov``
(github SihaoCheng/scattering_transform, the code of Cheng, Morel, Allys, Ménard & Mallat 2024; not on PyPI: give a
checkout with ``--anchor``), fed with **our** Morlet filters so that only the statistics are compared.

Printed: the largest relative difference of the power spectrum S2 (their ``P00``), of the first-order means ⟨|x ⋆ ψ|⟩
(their ``S1``; ours is S̄1·√S2) and of the normalized modulus cross-spectrum S̄4 (their ``C11`` with
``normalization="P00"``, real and imaginary parts, every j1 ≤ j2 ≤ j3 and orientation triple we keep), on a 64² disk
field and a 128² crop of scikit-image's brick. Their S3 (``C01``) weighs the frequencies by ψ̂ where the paper's
covariance Cov(x ⋆ ψ, |x ⋆ ψ'| ⋆ ψ), which we compute, weighs them by |ψ̂|²: it is printed against ours recomputed with
their weighting (from our modulus maps), to show that this is the only difference.

    git clone https://github.com/SihaoCheng/scattering_transform /tmp/anchor
    python benchmarks/compare_scattering_spectra.py --anchor /tmp/anchor
"""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from gennet.stationary import ScatteringSpectra2D  # noqa: E402
from gennet.stationary.fields import boolean_disks  # noqa: E402
from gennet.transforms.filters import morlet_filter_bank  # noqa: E402


def anchor_class(checkout: Path):
    """``Scattering2d`` from ``checkout/scattering/Scattering2d.py`` without running the package's ``__init__`` (which
    imports plotting and GPU back ends)."""
    package = types.ModuleType("scattering")
    package.__path__ = [str(checkout / "scattering")]
    sys.modules["scattering"] = package
    from scattering.Scattering2d import Scattering2d

    return Scattering2d


def relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def compare(Scattering2d, x: torch.Tensor, J: int, L: int) -> dict[str, float]:
    """The largest relative differences between ours and the anchor's on one image ``x (H, W)`` float64."""
    H, W = x.shape
    bank = morlet_filter_bank(H, W, J, L)
    anchor = Scattering2d(H, W, J, L, device="cpu", filters_set={"psi": bank.psi.clone(), "phi": bank.phi.clone()})
    theirs = anchor.scattering_cov(x[None], normalization="P00")
    model = ScatteringSpectra2D((H, W), J=J, L=L, reduction="none", tolerance=0.0)
    raw = model.raw(x[None, None])[0].numpy()
    ours: dict[str, list] = {"P00": [], "S1": [], "C11": [], "C01": []}
    reference: dict[str, list] = {"P00": [], "S1": [], "C11": [], "C01": []}
    power = {(r.j[0], r.l[0]): raw[i] for i, r in enumerate(model.catalogue.raw) if r.family == "power"}
    for value, r in zip(raw, model.catalogue.raw):
        (j1, j2, j3), (l1, l2, l3) = r.j, r.l
        if r.family == "power":
            ours["P00"].append(value), reference["P00"].append(float(theirs["P00"][0, j1, l1]))
        elif r.family == "sparsity":
            ours["S1"].append(value * np.sqrt(power[(j1, l1)])), reference["S1"].append(float(theirs["S1"][0, j1, l1]))
        elif r.family == "modulus":
            c = theirs["C11"][0, j1, j2, j3, l1, l2, l3]
            ours["C11"].append(value), reference["C11"].append(float(c.imag if r.part == "im" else c.real))
    # their C01 = Σ x̂ conj(Î_λ1) ψ̂_λ2 / (d² √(P00 P00)): ours recomputed with that weighting, from our moduli
    spectrum = torch.fft.fft2(x)
    psi = bank.psi
    modulus_spectrum = torch.fft.fft2(torch.fft.ifft2(spectrum[None, None] * psi).abs())
    d = H * W
    for j1 in range(J):
        for j2 in range(j1, J):
            for l1 in range(L):
                for l2 in range(L):
                    value = (spectrum * modulus_spectrum[j1, l1].conj() * psi[j2, l2]).sum() / d**2
                    value = value / np.sqrt(power[(j1, l1)] * power[(j2, l2)])
                    c = theirs["C01"][0, j1, j2, l1, l2]
                    ours["C01"] += [float(value.real), float(value.imag)]
                    reference["C01"] += [float(c.real), float(c.imag)]
    return {key: relative(np.array(ours[key]), np.array(reference[key])) for key in ours}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--anchor", type=Path, required=True, help="a checkout of github.com/SihaoCheng/scattering_transform")
    parser.add_argument("--J", type=int, default=4)
    parser.add_argument("--L", type=int, default=4)
    args = parser.parse_args()
    if not (args.anchor / "scattering" / "Scattering2d.py").is_file():
        sys.exit(f"error: --anchor: no scattering/Scattering2d.py under '{args.anchor}'")
    Scattering2d = anchor_class(args.anchor)
    from skimage import data

    images = {"disks 64²": boolean_disks((64, 64), coverage=0.3, radius=(2.0, 8.0), seed=0)[0, 0],
              "brick 128²": torch.from_numpy(data.brick()[192:320, 192:320].astype(np.float64) / 255)}
    print(f"J={args.J}, L={args.L}, float64, our filters in both; largest |ours − theirs| / max |theirs|:")
    for name, x in images.items():
        differences = compare(Scattering2d, x, args.J, args.L)
        print(f"- {name}: " + ", ".join(f"{key} {value:.1e}" for key, value in differences.items()))


if __name__ == "__main__":
    main()
