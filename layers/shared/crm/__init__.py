"""Shared domain code of contacts-api: models, representations, errors, auth context.

Handlers in ``functions/`` stay thin and call into this package, which ships as a Lambda layer.
"""
