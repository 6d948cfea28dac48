"""`python -m publisher deploy …` (see publisher/cli.py)."""
import sys

from .cli import main

sys.exit(main())
