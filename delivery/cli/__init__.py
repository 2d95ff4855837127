"""The ``callbacks`` command line: one parser (``main``) and one small module per command group.

``config`` (validate), ``manage`` (clients, subscriptions, targets, applications map), ``worker`` (worker,
redrive) and ``router``; ``harness.cli_local`` adds ``local`` and ``demo``. Command modules import only
argparse at import time, so ``callbacks --help`` stays fast; their handlers import the stage they run.
"""
