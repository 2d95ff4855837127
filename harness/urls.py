"""The lines ``callbacks local up`` prints: every URL of the running local stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.local_stack import LocalStack


def url_lines(stack: LocalStack) -> list[str]:
    env = stack.environment
    required = env.get_extra("mtls_required_mock_url") or "-"
    required_admin = env.get_extra("mtls_required_mock_admin_url") or "-"
    lines = [
        f"  inbox (mock admin)     {env.mock_admin_url}/",
        f"  mock webhook           {env.mock_url}/<targetId>  (mTLS optional, verified when presented)",
        f"  mock, mTLS required    {required}/<targetId>  (admin {required_admin}/)",
        f"  Valkey (gate)          {env.redis_url}",
        f"  AWS (moto)             {env.aws_endpoint_url}  region {env.region}",
        f"  SQS ({stack.options.sqs + ')':<18} {env.endpoint_for('sqs')}",
        f"  client configs         {env.config_location}",
        f"  inbound queue          {env.inbound_queue_url}",
        f"  inbound DLQ            {env.inbound_dlq_url}",
    ]
    for queues in env.clients:
        lines.append(f"  {queues.client_id:<22} {queues.delivery_queue_url}")
        lines.append(f"  {'':<22} {queues.dlq_url}")
    lines += [
        f"  worker log (EMF)       {env.metrics_log_path}",
        f"  state dir              {stack.state_dir}",
        f"  environment file       {stack.state_dir / 'environment.toml'}",
    ]
    return lines
