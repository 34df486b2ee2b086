"""Analyze a trained classifier: ``python analyze.py ckpt_path=CKPT output=DIR`` (angular spectrum, Lipschitz, separation)."""

from gennet.cli.analyze import main

if __name__ == "__main__":
    main()
