"""Request types and names the load tests report to Locust (one place, so stats, CSV and the SLO agree).

Locust's stats table, charts and CSV show one row per (type, name):

- ``sqs`` / ``publish`` and ``publish-batch``: one row entry per *message* that is expected to be delivered,
  sent alone or inside a SendMessageBatch (response time = the SQS call's duration);
- ``sqs`` / ``publish-forced`` and ``publish-batch-forced``: messages carrying a permanent forced-failure
  prefix (the failing-target profile); they are never expected to be delivered;
- ``e2e`` / ``e2e-delivery``: the first 2xx callback for a message (response time = mock receive time -
  publish time);
- ``e2e`` / ``e2e-duplicate``: a further 2xx callback for a message already delivered (at-least-once);
- ``webhook`` / ``status-<code>``: a non-2xx answer of the webhook (forced, scripted, rate-limited),
  reported as a failure so Locust's failure table counts them.
"""

from __future__ import annotations

PUBLISH_TYPE = "sqs"
PUBLISH = "publish"
PUBLISH_BATCH = "publish-batch"
PUBLISH_FORCED = "publish-forced"
PUBLISH_BATCH_FORCED = "publish-batch-forced"
DELIVERABLE_PUBLISH_NAMES = (PUBLISH, PUBLISH_BATCH)
ALL_PUBLISH_NAMES = (PUBLISH, PUBLISH_BATCH, PUBLISH_FORCED, PUBLISH_BATCH_FORCED)

E2E_TYPE = "e2e"
E2E_DELIVERY = "e2e-delivery"
E2E_DUPLICATE = "e2e-duplicate"

WEBHOOK_TYPE = "webhook"


def publish_name(*, batch: bool, deliverable: bool) -> str:
    if deliverable:
        return PUBLISH_BATCH if batch else PUBLISH
    return PUBLISH_BATCH_FORCED if batch else PUBLISH_FORCED


def webhook_status_name(status: int | None) -> str:
    return f"status-{status}" if status is not None else "status-none"
