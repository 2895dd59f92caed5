# Print "ready" before importing anything else: json/re/subprocess imports cost ~20 ms here and
# boot time is measured up to this line; the rest loads while the host prepares the spec.
import os
import sys

os.write(
    1, b'{"type":"ready","pid":%d,"python":"%d.%d.%d"}\n' % (os.getpid(), *sys.version_info[:3])
)

from agentexec.linc.runtime import main  # noqa: E402

sys.exit(main())
