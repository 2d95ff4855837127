"""Stage *observe*: what the pipeline tells operators — logs and metrics (SPEC F).

Owns structured logs (``logs``), the metric names and sinks (``metrics``), CloudWatch EMF output
(``emf``), the opt-in Prometheus endpoint (``prometheus``), the per-batch observation that turns one
batch's outcomes into log lines and metrics (``batch``) and the secret scrubbing every log line, metric and
DLQ message goes through (``scrub``), and the batching of output lines (``output``: log and EMF lines
written once per batch inside a worker run or a Lambda invocation). ``logs``, ``metrics`` and ``emf``
import nothing of the project but ``scrub`` and ``output``; ``batch`` may import the pure top-level
modules. No other stage's I/O is reached from here.
"""
