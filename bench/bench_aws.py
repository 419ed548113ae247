"""AWS Secrets Manager: the cost of guardlib's authorization layer in front of moto.

Three servers in the same process, the same moto backend, the same boto3 call
(``get_secret_value`` of a seeded secret), interleaved so drift hits all alike:

- *moto server*: moto's own ``ThreadedMotoServer`` (no auth at all) - the peer;
- *moto app, same server*: moto's WSGI app served by guardlib's server class without the layer,
  with the per-service app lookup cached as guardlib does (moto's dispatcher stat()s its package
  directories on every request) - so guardlib / this = the cost of the layer itself;
- *guardlib*: the full path - SigV4 check, role session lookup, identity + resource policy on
  the secret's ARN, moto, stage invariants - called as the role ``dev-app``.

Target: guardlib's median <= 1.10 x the moto server's.
"""

from __future__ import annotations

import logging
import statistics
import time

CALLS = 400
WARMUP = 30


def main() -> None:
    import boto3

    from guardlib import emulators

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    cloud = emulators.start(only=["aws"])
    started = time.perf_counter() - t0
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from guardlib.emulators.aws.routing import Server

    cloud.seed({"secrets": {"bench-key": {"value": "demo-not-a-real-key", "readers": ["dev-app"]}}})
    env = cloud.env("dev-app")
    arn = cloud["aws"].arn("bench-key")

    bare = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    bare.start()
    dispatcher = DomainDispatcherApplication(create_backend_app)
    apps: dict[str, object] = {}

    def cached_moto(environ, start_response):  # type: ignore[no-untyped-def]
        """moto's app with the per-service lookup cached, as guardlib's layer does it."""
        app = apps.get("secretsmanager") or apps.setdefault(
            "secretsmanager", dispatcher.get_application(environ)
        )
        return app(environ, start_response)  # type: ignore[operator]

    plain = Server(cached_moto)
    plain.start()

    def client(url: str, **creds: str):  # type: ignore[no-untyped-def]
        return boto3.session.Session(**creds).client(
            "secretsmanager", region_name="us-east-1", endpoint_url=url
        )

    dummy = {"aws_access_key_id": "AKIADEMONOTAREALKEY0", "aws_secret_access_key": "demo"}
    host, port = bare.get_host_and_port()
    clients = {
        "moto server": client(f"http://{host}:{port}", **dummy),
        "moto app, same server": client("http://{}:{}".format(*plain.address), **dummy),
        "guardlib (auth layer)": client(
            env["AWS_ENDPOINT_URL"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=env["AWS_SESSION_TOKEN"],
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for i in range(WARMUP + CALLS):
        for name, c in clients.items():
            began = time.perf_counter()
            assert c.get_secret_value(SecretId=arn)["SecretString"] == "demo-not-a-real-key"
            if i >= WARMUP:
                samples[name].append(time.perf_counter() - began)
    medians = {name: statistics.median(s) * 1000 for name, s in samples.items()}
    peer = medians["moto server"]
    print(
        f"emulators.start(only=['aws']): {started * 1000:.0f} ms"
        " (CA, gateway, importing moto, server)"
    )
    print(f"get_secret_value, median of {CALLS}:")
    for name, ms in medians.items():
        print(f"  {name:<24} {ms:6.2f} ms   ratio {ms / peer:4.2f}")
    layer = medians["guardlib (auth layer)"] / medians["moto app, same server"]
    print(f"authorization layer overhead vs the same server without it: {layer:4.2f}x")
    verdict = "OK" if medians["guardlib (auth layer)"] <= 1.10 * peer else "ABOVE TARGET"
    print(f"target guardlib <= 1.10 x moto server: {verdict}")
    bare.stop()
    plain.stop()
    emulators.stop()


if __name__ == "__main__":
    main()
