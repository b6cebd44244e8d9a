"""The local AWS's realism layer: where AWS is slow, eventually consistent, or refuses, so are we.

On by default; see settings.py for each behaviour's delay and docs/local-aws.md "Realism" for the
table of behaviours, AWS's answers, their sources and how the deployer copes.
"""
