"""The sections of ``analyze.py``, one module each, in the order they run and appear in ``analysis.md``:

- ``angular`` (:mod:`.angular`): the angular spectrum of ``W₁`` and its thresholding (scattering front ends);
- ``lipschitz`` (:mod:`.lipschitz`): per-layer Lipschitz bounds, their product, an empirical lower bound;
- ``separation`` (:mod:`.separation`): 1-NN accuracy and k-Local Support Vectors at each stage;
- ``probes`` (:mod:`.probes`): linear probe, 1-NN and contraction at each stage, beside a random control;
- ``invertibility`` (:mod:`.invertibility`): reconstruction, interpolation, edition, local conditioning
  (networks with an inverse).

A section is a :class:`~.section.Section` (its name, the figures it writes, the check of its config keys, when it
applies, and ``run(Context) → Result``). To add one: a module here defining it, and one entry in :data:`SECTIONS`.
``analysis=null`` runs every default section that applies; ``analysis=[a, b]`` exactly those (a listed section that
does not apply to the network is an error).
"""

from __future__ import annotations

from .angular import ANGULAR
from .invertibility import INVERTIBILITY
from .lipschitz import LIPSCHITZ
from .probes import PROBES
from .section import Context, Result, Section
from .separation import SEPARATION

__all__ = ["SECTIONS", "Context", "Result", "Section"]

#: Every section, in order.
SECTIONS: list[Section] = [ANGULAR, LIPSCHITZ, SEPARATION, PROBES, INVERTIBILITY]
