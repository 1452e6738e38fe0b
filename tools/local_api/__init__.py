"""The API on this machine with no Docker and no AWS account: `make run` (python -m local_api)."""
