"""The deploy stage: what it takes to run the delivery engine on AWS Lambda.

    requirements -> wheels (pip download for the Lambda platform) -> archive (deterministic zip)
    template (CloudFormation from the client configs) <- infra (frozen inputs)  -> stack outputs -> environment

Pure modules (no boto3/aiohttp/redis): requirements, archive, infra, template, resources, outputs.
I/O edges: wheels (pip in a subprocess), bundle (files), stack (CloudFormation via boto3).
Import from the modules themselves; this package runs no code.
"""
