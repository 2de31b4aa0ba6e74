"""The server starts, serves health and discovery, and kubectl reads the bootstrap objects."""
import unittest

from knet_server import KnetServer


class SmokeTest(unittest.TestCase):
    def test_kubectl_sees_the_bootstrap_namespaces_and_service(self):
        with KnetServer() as s:
            out = s.kubectl("get", "namespaces", "-o", "name").stdout.split()
            self.assertEqual(sorted(out), ["namespace/default", "namespace/kube-node-lease",
                                           "namespace/kube-public", "namespace/kube-system"])
            svc = s.kubectl("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}").stdout
            self.assertEqual(svc, "10.96.0.1")
            status, _, body = s.get_raw("/api/v1/pods")
            self.assertEqual(status, 401, body)


if __name__ == "__main__":
    unittest.main()
