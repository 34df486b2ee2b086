"""Train a gennet model: ``python train.py [overrides]`` (see README and gennet/conf/train.yaml)."""

from gennet.cli.train import main

if __name__ == "__main__":
    main()
