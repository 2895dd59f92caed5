# Print "ready" before importing anything else: json/re/subprocess imports cost ~20 ms here and
# boot time is measured up to this line; the rest loads while the host prepares the spec.
# A runtime that calls home (LINC_BROKER_URL) posts its "ready" from main() instead.
import os
import sys

if not os.environ.get("LINC_BROKER_URL"):
    os.write(
        1,
        b'{"type":"ready","pid":%d,"python":"%d.%d.%d"}\n' % (os.getpid(), *sys.version_info[:3]),
    )

from agentexec.linc.runtime import main

sys.exit(main())
