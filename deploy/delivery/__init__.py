"""Git-driven delivery: which environment a git event deploys to, and who starts the deployment.

Sources (Jenkins multibranch variables, Bitbucket Cloud and Server/DC webhooks, explicit
parameters) become ``GitEvent``s; ``route_events`` applies the rules file
(``deploy/config/routing.json``) and returns ``Decision``s; the ``route`` command prints them, and
the webhook receiver queues the Jenkins job for each one that deploys.

Modules: events (the event shape), rules (the rules file model), routing (pure decisions),
jenkins_env / bitbucket (sources), signature (HMAC), gitrepo (git questions), trust (rules from
the trusted ref, commits checked against their refs), jenkins_api (buildWithParameters), recent
(de-duplication memory, SQLite), deadletter (failed triggers), receiver (Flask app and its
waitress server), render (text/JSON), cli (click commands). Import from the modules
(``from deploy.delivery.routing import route_events``): this package file imports nothing,
so ``python -m deploy.delivery.rules`` (schema regeneration) runs cleanly.
"""
