"""The AWS emulator: a moto server on 127.0.0.1 that answers one request at a time.

DynamoDB evaluates every conditional write and transaction atomically; moto's
backends take no locks, so two threads can both pass the same condition. Serialising
requests gives the emulator the atomicity the registry's compare-and-set relies on
(clients still race exactly as they would against AWS).

Run alone with `python -m local_stack.emulator --port 4566`.
"""
import argparse
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class EmulatorServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        backend = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def serialised(environ, start_response):
            with lock:
                return list(backend(environ, start_response))

        self._server = make_server(host, port, serialised, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EmulatorServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    server = EmulatorServer(args.host, args.port)
    print(f"AWS emulator on {server.url}", flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()


if __name__ == "__main__":
    main()
