#!/usr/bin/python3
"""A szrun plugin in Python, implementing the protocol of docs/plugins.md
without any szrun code: it checks that the documented handshake, mTLS and
service are enough for a non-Go author. The host's tests run it when
/usr/bin/python3 has grpcio, grpcio-tools and cryptography; the stubs
(plugin_pb2*.py) are generated from plugins/proto/plugin.proto into
PYTHONPATH by the test.
"""
import base64
import datetime
import json
import os
import sys
from concurrent import futures

COOKIE_KEY, COOKIE_VALUE = "SZRUN_PLUGIN", "f3a9c1e6b2d84f57a0e1c9d3b7264e8a"

if os.environ.get(COOKIE_KEY) != COOKIE_VALUE:
    sys.stderr.write("This binary is a szrun plugin; it is started by szrun, not by hand.\n")
    sys.exit(1)

import grpc  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

import plugin_pb2 as pb  # noqa: E402
import plugin_pb2_grpc as pbg  # noqa: E402


def server_cert():
    """A self-signed certificate for localhost, usable as its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM), cert.public_bytes(serialization.Encoding.DER)


class Stage(pbg.StageServicer):
    def Describe(self, request, context):
        return pb.DescribeResponse(
            name="py",
            version="0.1",
            stages=[
                pb.StageSpec(
                    name="py",
                    version="1",
                    summary="write a greeting from Python",
                    params=[
                        pb.Param(name="who", type="string", required=True),
                        pb.Param(name="pause", type="duration", default_json='"5s"'),
                    ],
                    outputs=[
                        pb.Output(name="greeting", kind="file"),
                        pb.Output(name="pause", kind="value", type="string"),
                    ],
                )
            ],
        )

    def Run(self, request, context):
        params = json.loads(request.params_json)
        sys.stderr.write("py: running from stderr\n")
        sys.stderr.flush()
        yield pb.RunEvent(log=pb.Log(level=pb.LOG_LEVEL_INFO, message="hello from python",
                                     fields=[pb.Field(key="who", value=params["who"])]))
        yield pb.RunEvent(progress=pb.Progress(done=1, total=1, what="greeting"))
        with open(os.path.join(request.work_dir, "greeting.txt"), "w") as f:
            f.write("hello " + params["who"])
        yield pb.RunEvent(result=pb.Result(
            files={"greeting": "greeting.txt"},
            values_json=json.dumps({"pause": params["pause"]}),
        ))


def main():
    key_pem, cert_pem, cert_der = server_cert()
    creds = grpc.ssl_server_credentials(
        [(key_pem, cert_pem)],
        root_certificates=os.environ["PLUGIN_CLIENT_CERT"].encode(),
        require_client_auth=True,
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pbg.add_StageServicer_to_server(Stage(), server)
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    b64 = base64.b64encode(cert_der).decode().rstrip("=")
    print("1|1|tcp|127.0.0.1:%d|grpc|%s" % (port, b64), flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
