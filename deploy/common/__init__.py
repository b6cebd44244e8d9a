"""The deployer engine: config, AWS access, resource kinds, plan and apply. Never imports a project."""
