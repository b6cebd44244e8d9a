// Evaluates AWS requests against IAM policies with @cloud-copilot/iam-simulate (strict mode: a context key a
// request does not give is absent, as in AWS). Used by tests/iam_evaluator.py; reads one JSON document on stdin:
//   {"policies": {"name": policy, ...},
//    "requests": [{"principal", "action", "resource", "account", "context": {key: value}, "policies": [name, ...],
//                  "boundary": name or null}, ...]}
// and writes one JSON array, a result per request, in order:
//   {"decision": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied"} plus "ignoredContextKeys" (keys the action
//   does not support), or {"decision": "error", "error": "..."} when the request or a policy is invalid.
import { runSimulation } from '@cloud-copilot/iam-simulate';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const results = [];
for (const request of input.requests) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.account },
      contextVariables: request.context || {},
    },
    identityPolicies: request.policies.map((name) => ({ name, policy: input.policies[name] })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  if (request.boundary) {
    simulation.permissionBoundaryPolicies = [{ name: request.boundary, policy: input.policies[request.boundary] }];
  }
  const result = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (result.resultType === 'error') {
    results.push({ decision: 'error', error: JSON.stringify(result.errors) });
  } else {
    const ignored = result.resultType === 'single' ? result.result.ignoredContextKeys || [] : [];
    results.push({ decision: result.overallResult, ignoredContextKeys: ignored });
  }
}
process.stdout.write(JSON.stringify(results));
