"""Sample a trained generator from noise: ``python sample.py ckpt_path=CKPT [num_samples=64 output=grid.png seed=0]``."""

from gennet.cli.sample import main

if __name__ == "__main__":
    main()
