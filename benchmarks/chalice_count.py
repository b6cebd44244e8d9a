"""Run the Chalice CLI with every botocore call recorded; print calls and writes (run by chalice_noop_writes.sh)."""
import sys
from collections import Counter

import botocore.client

READ_ONLY = ("Get", "List", "Describe", "Head")  # the same rule as deploy.common.aws_common.is_mutating
calls = []
_original = botocore.client.BaseClient._make_api_call


def _recording(self, operation, params):
    calls.append((self.meta.service_model.service_name, operation))
    return _original(self, operation, params)


botocore.client.BaseClient._make_api_call = _recording

from chalice.cli import main  # noqa: E402

try:
    main()
finally:
    writes = [op for _, op in calls if not op.startswith(READ_ONLY)]
    print(f"chalice {' '.join(sys.argv[1:])}: calls={len(calls)} writes={len(writes)} "
          f"[{', '.join(f'{k}×{v}' for k, v in sorted(Counter(writes).items()))}]", file=sys.stderr)
