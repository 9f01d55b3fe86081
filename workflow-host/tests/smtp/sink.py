"""A real SMTP server for the notification tests (aiosmtpd, from PyPI).

    python sink.py DIR

Listens on a free port of 127.0.0.1 and prints it on the first line of standard
output. Every message accepted is written to DIR as NNNNNN.json, {"to": [...],
"data": "..."} (renamed into place whole). While DIR/refuse exists, every recipient is
refused with 550. Serves until its standard input closes.
"""

import json
import os
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if os.path.exists(os.path.join(self.folder, "refuse")):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.folder, "%06d" % self.count)
        with open(name + ".tmp", "w", encoding="utf-8") as f:
            json.dump(
                {
                    "to": envelope.rcpt_tos,
                    "data": envelope.content.decode("utf-8", "replace"),
                },
                f,
            )
        os.rename(name + ".tmp", name + ".json")
        return "250 OK queued"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    folder = sys.argv[1]
    port = free_port()
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
