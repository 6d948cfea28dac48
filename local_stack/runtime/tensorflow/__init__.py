"""The TensorFlow backend: what AWS's TF Serving image does on an MME, under the TF venv."""
