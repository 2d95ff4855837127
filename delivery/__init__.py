"""delivery — the webhook delivery engine: SQS -> config -> sign -> Redis gate -> HTTPS/mTLS -> settle."""
