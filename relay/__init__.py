"""The relay: a small Starlette app that stores and serves ciphertext, nothing else."""
