"""The deploy stage: what it takes to run the delivery engine on AWS Lambda.

    requirements -> wheels (pip download for the Lambda platform) -> archive (deterministic zip)
    infra (frozen plan from the client configs) -> resources + template (CloudFormation JSON)
    stack (upload code, create/update, outputs)

Pure modules (no boto3/aiohttp/redis): requirements, archive, infra, resources, template.
I/O edges: wheels (pip in a subprocess), bundle (files), stack (S3 and CloudFormation via boto3).
Import from the modules themselves; this package runs no code.
"""
