"""Stage *observe*: what the pipeline tells operators — logs and metrics (SPEC F).

Owns structured logs (``logs``), the metric names and sinks (``metrics``), CloudWatch EMF output
(``emf``), the opt-in Prometheus endpoint (``prometheus``) and the per-batch observation that turns one
batch's outcomes into log lines and metrics (``batch``). ``logs``, ``metrics`` and ``emf`` import nothing of
the project; ``batch`` may import the pure top-level modules. No other stage's I/O is reached from here.
"""
