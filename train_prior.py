"""Train a prior over the embedding of a trained generator: ``python train_prior.py generator_ckpt=CKPT [prior=flow]``."""

from gennet.cli.train_prior import main

if __name__ == "__main__":
    main()
