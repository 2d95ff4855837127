"""Stage *observe*: what the pipeline tells operators — logs and metrics (SPEC F).

Owns structured logs (``logs``), the metric names and sinks (``metrics``), CloudWatch EMF output
(``emf``), the opt-in Prometheus endpoint (``prometheus``), the per-batch observation that turns one
batch's outcomes into log lines and metrics (``batch``) and the secret scrubbing every log line, metric and
DLQ message goes through (``scrub``). ``logs``, ``metrics`` and ``emf`` import nothing of the project but
``scrub``; ``batch`` may import the pure top-level modules. No other stage's I/O is reached from here.
"""
