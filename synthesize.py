"""Synthesize textures from one image: ``python synthesize.py image=PATH|skimage:NAME [model=phase_harmonic|gaussian] [num_samples=4] [size=256] [output=DIR]``."""

from gennet.cli.synthesize import main

if __name__ == "__main__":
    main()
