"""The local stack: every piece of the registry on one machine, with no AWS account.

stack.py assembles the pieces (api_stack.py: the API alone; background.py: the stack as a child
process); each sub-package is one piece, and none imports the modules here or the demo above it.
"""
