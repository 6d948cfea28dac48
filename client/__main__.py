"""`python -m client ...`"""
from .cli import main

raise SystemExit(main())
