"""`python -m local_stack.demo` (`make demo`): runs the demo's flow (flow.py)."""
import sys

from local_stack.demo.flow import main

sys.exit(main())
