"""RQ jobs and the worker that runs them inside the Flask app context.

Jobs take ids, are idempotent, and have explicit timeouts and retries. Queue names are the
constants in :mod:`workers.queues`.
"""
