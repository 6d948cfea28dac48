"""`make demo`, `make screenshots` and the models built in code that tests and benches share."""
