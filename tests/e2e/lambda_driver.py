"""Invokes a handler of the unzipped Lambda package as the Lambda runtime would: Python 3.13,
no site-packages, nothing on sys.path but the package, the event on stdin.

    python3.13 -I -S lambda_driver.py PACKAGE_DIR HANDLER < event.json

Prints one JSON line: the handler's answer, and where botocore was imported from (the
package must bring its own: the runtime's copy may be too old for conditional copies).
"""
import json
import sys

package, handler = sys.argv[1], sys.argv[2]
sys.path.insert(0, package)

import app  # noqa: E402  (the packaged app.py, found through the path set above)
import botocore  # noqa: E402


class Context:
    """The attributes of Lambda's context object that Chalice reads."""

    aws_request_id = "00000000-0000-0000-0000-000000000000"
    function_name = handler
    memory_limit_in_mb = 1769
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{handler}"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


answer = getattr(app, handler)(json.load(sys.stdin), Context())
print(json.dumps({"answer": answer, "botocore": botocore.__version__, "botocore_file": botocore.__file__,
                  "python": list(sys.version_info[:2])}, default=str))
