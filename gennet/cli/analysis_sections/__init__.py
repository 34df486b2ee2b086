"""The sections of ``analyze.py``, one module each, in the order they run and appear in ``analysis.md``:

- ``angular`` (:mod:`.angular`): the angular spectrum of ``W₁`` and its thresholding (scattering front ends);
- ``lipschitz`` (:mod:`.lipschitz`): per-layer Lipschitz bounds, their product, an empirical lower bound;
- ``separation`` (:mod:`.separation`): 1-NN accuracy and k-Local Support Vectors at each stage;
- ``probes`` (:mod:`.probes`): linear probe, 1-NN and contraction at each stage, beside a random control;
- ``invertibility`` (:mod:`.invertibility`): reconstruction, interpolation, edition, local conditioning
  (networks with an inverse);

and, off by default (run when listed), what the network relies on (DESIGN §15):

- ``frequency`` (:mod:`.frequency`): accuracy on ``x_l`` / ``x_h`` at several radii, the paradox count, and the
  HFC smoothing of the first convolution (accuracy and FGSM accuracy);
- ``margins`` (:mod:`.margins`): subspace DeepFool margins along the diagonal DCT blocks, a random subspace and
  the whole space, beside the radius certified by the Lipschitz bound;
- ``robustness`` (:mod:`.robustness`): accuracy under captum's FGSM / PGD at several ε in ℓ∞ and ℓ2;
- ``spectral`` (:mod:`.spectral`): the spectrum of the logit margin along random lines and image paths.

``analyze.py runs=DIR`` runs the sections that compare networks on every run of a directory, with one comparison
table, knowledge consistency between seeds and the frequency-filtered / flipped runs (:mod:`.runs`).

A section is a :class:`~.section.Section` (its name, the figures it writes, the check of its config keys, when it
applies, and ``run(Context) → Result``; optionally the libraries it needs and its figure of several networks). To
add one: a module here defining it, and one entry in :data:`SECTIONS`. ``analysis=null`` runs every default section
that applies; ``analysis=[a, b]`` exactly those (a listed section that does not apply to the network is an error).
"""

from __future__ import annotations

from .angular import ANGULAR
from .frequency import FREQUENCY
from .invertibility import INVERTIBILITY
from .lipschitz import LIPSCHITZ
from .margins import MARGINS
from .probes import PROBES
from .robustness import ROBUSTNESS
from .section import Context, Result, Section
from .separation import SEPARATION
from .spectral import SPECTRAL

__all__ = ["SECTIONS", "Context", "Result", "Section"]

#: Every section, in order.
SECTIONS: list[Section] = [ANGULAR, LIPSCHITZ, SEPARATION, PROBES, INVERTIBILITY, FREQUENCY, MARGINS, ROBUSTNESS, SPECTRAL]
