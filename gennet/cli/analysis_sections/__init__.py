"""The sections of ``analyze.py`` that measure what a classifier relies on (DESIGN §15), one module each:

- ``frequency`` (:mod:`.frequency`): accuracy on ``x_l`` / ``x_h`` at several radii, the paradox count, and the
  HFC smoothing of the first convolution (accuracy and FGSM accuracy);
- ``margins`` (:mod:`.margins`): subspace DeepFool margins along the diagonal DCT blocks, a random subspace and
  the whole space, beside the radius certified by the Lipschitz bound;
- ``robustness`` (:mod:`.robustness`): accuracy under captum's FGSM / PGD at several ε in ℓ∞ and ℓ2;
- ``spectral`` (:mod:`.spectral`): the spectrum of the logit margin along random lines and image paths.

``analyze.py ... analysis=[frequency,margins,robustness,spectral]`` runs them on one checkpoint;
``analyze.py runs=DIR`` on every run of a directory, with a comparison table (:mod:`.runs`). Each section is a
function ``(Context) → Section`` (numbers for the JSON, one row of the comparison table, figures).
"""

from __future__ import annotations

from .context import Context, Section, check_options
from .frequency import frequency_section
from .margins import margins_section
from .robustness import robustness_section
from .spectral import spectral_section

__all__ = ["SECTIONS", "Context", "Section", "check_options", "check_sections", "run_sections"]

#: name → the function computing it.
SECTIONS = {"frequency": frequency_section, "margins": margins_section, "robustness": robustness_section,
            "spectral": spectral_section}


def check_sections(names) -> list[str]:
    """The ``analysis`` list, checked: known names, each once; a section whose library is missing is one line.

    Raises:
        ConfigError: ``analysis``, naming the unknown section or the missing library.
    """
    from ...errors import ConfigError

    names = [str(n) for n in (names or [])]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise ConfigError("analysis", f"unknown section {unknown[0]!r}; known: {', '.join(SECTIONS)}")
    if len(set(names)) != len(names):
        raise ConfigError("analysis", f"a section is listed twice: {names}")
    if {"frequency", "robustness"} & set(names):
        import importlib.util

        if importlib.util.find_spec("captum") is None:
            raise ConfigError("analysis", "the frequency and robustness sections attack with captum, which is not "
                                          "installed: pip install 'gennet[analysis]'")
    return names


def run_sections(names: list[str], context: Context) -> dict[str, Section]:
    """``{name: Section}`` for every name, in order."""
    return {name: SECTIONS[name](context) for name in names}
