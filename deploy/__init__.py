"""AWS data-pipeline deployer: desired state -> plan -> apply, with boto3 only."""

__version__ = "0.1.0"
