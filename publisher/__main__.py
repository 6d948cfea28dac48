"""`python -m publisher deploy …` (see publisher/cli.py)."""
import sys

from publisher.cli import main

sys.exit(main())
