"""Scripts run in child processes (a Lambda invocation, a Glue job run). Standard library and boto3 only:
they are started by file path, never as part of the deploy package."""
