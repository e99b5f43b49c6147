"""The regdoctor test harness: real registries, a token server, DNS and odd TCP peers.

Everything listens on 127.0.0.1 only. Tests normally get all of it through the
session-scoped ``testbed`` fixture (tests/conftest.py) and import helpers from here.
"""

from tests.harness.content import PushedImage, TestImages
from tests.harness.isolation import IsolatedEnv
from tests.harness.pki import CertKey, Pki, install_cert_dir
from tests.harness.skopeo import run_skopeo, run_skopeo_inspect
from tests.harness.testbed import SOCKET_PEERS, Endpoint, Testbed, start_testbed

__all__ = [
    "SOCKET_PEERS",
    "CertKey",
    "Endpoint",
    "IsolatedEnv",
    "Pki",
    "PushedImage",
    "TestImages",
    "Testbed",
    "install_cert_dir",
    "run_skopeo",
    "run_skopeo_inspect",
    "start_testbed",
]
