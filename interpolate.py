"""Interpolate in the embedding of a trained generator: ``python interpolate.py ckpt_path=CKPT [num_steps=8 output=strip.png]``."""

from gennet.cli.interpolate import main

if __name__ == "__main__":
    main()
