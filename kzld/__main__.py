"""Entry point for ``python -m kzld``."""

from kzld.cli import main

main()
