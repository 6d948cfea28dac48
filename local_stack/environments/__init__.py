"""What runs beside the .venv: the TensorFlow venv and the MME container image."""
