"""Explain one image by its sparse code: ``python explain.py ckpt_path=CKPT index=0``."""

from gennet.cli.explain import main

if __name__ == "__main__":
    main()
