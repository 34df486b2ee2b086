"""Regress molecular energies on scattering invariants: ``python regress.py [+experiment=qm9] [overrides]`` (see README and gennet/conf/regress.yaml)."""

from gennet.cli.regress import main

if __name__ == "__main__":
    main()
