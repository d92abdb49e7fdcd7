"""The service layer: the only code that writes.

Views, API endpoints, CLI commands and jobs call these functions. They take explicit ids (and
``now`` where time matters), raise :mod:`contest.errors` domain errors, and never touch ``request``,
``g`` or ``flash``.
"""
