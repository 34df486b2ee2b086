"""Evaluate a trained generator: ``python evaluate.py ckpt_path=CKPT [output=evaluation]`` (JSON + Markdown table)."""

from gennet.cli.evaluate import main

if __name__ == "__main__":
    main()
