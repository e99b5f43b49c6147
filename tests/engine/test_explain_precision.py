"""Rules fire only where their words mean their cause (issue 15, precision on tuned text).

Each line below is from a tuned paste (fixtures/pasted/, its source given) or nearby, and
holds a rule's words in a context where they mean another cause: a refusal by the proxy,
the DNS resolver or a local socket rather than the registry; a JSON decode error of a
local file rather than of a token response; a wrapper around the real reason. The rule
*alone* must not match the line (the rule's ``.cases.yaml`` has the same line as a
look-alike, which the whole catalog's ranking passed even before: this test is the one
that tells a rule that does not fire from one that is merely outranked).
``benchmarks/bench_explain_precision.py`` counts such firings over all the tuned text.
"""

# ruff: noqa: E501 - real pasted errors are long lines

from __future__ import annotations

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.explain_index import index_of, match_rule
from regdoctor.engine.explain_stream import normalise_line

INDEX = index_of(load_catalog())
RULES = {INDEX.rule(i).id: INDEX.rule(i) for i in range(len(INDEX.rank))}

#: (rule, source of the line, the line, what it means instead)
DOES_NOT_FIRE = [
    (
        "tcp-refused",
        "docker/hub-feedback#2215",
        'Error saving credentials: error storing credentials - err: exit status 1, out: Post "http://ipc/registry/credstore-updated": dial unix Library/Containers/com.docker.docker/Data/backend.sock: connect: connection refused',
        "a credential helper's local socket refused (dial unix), not the registry",
    ),
    (
        "tcp-refused",
        "docker-archive-public/docker.kitematic#3573",
        "(HTTP code 500) server error - Get https://registry-1.docker.io/v2/: proxyconnect tcp: dial tcp 127.0.0.1:3128: getsockopt: connection refused",
        "the proxy refused (proxyconnect), not the registry",
    ),
    (
        "tcp-refused",
        "docker/compose#5533",
        "Error response from daemon: Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-1.docker.io on [::1]:53: read udp [::1]:60341->[::1]:53: read: connection refused",
        "the DNS resolver refused, not the registry",
    ),
    (
        "tcp-timeout",
        "docker/for-win#4607",
        "docker: Error response from daemon: Get https://registry-1.docker.io/v2/: proxyconnect tcp: dial tcp 192.168.65.83:8080: connect: no route to host.",
        "the proxy is unreachable (proxyconnect), not the registry",
    ),
    (
        "tcp-timeout",
        "docker-archive-public/docker.kitematic#4347",
        "Error response from daemon: Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-1.docker.io on 10.0.2.3:53: read udp 10.0.2.15:54567->10.0.2.3:53: i/o timeout",
        "the DNS resolver timed out, not the registry",
    ),
    (
        "tcp-timeout",
        "distribution/distribution#468",
        "Get https://registry.corp.snips.net:5000/v2/: dial tcp: i/o timeout",
        "no address was dialled (dial tcp: with none): the name did not resolve in time",
    ),
    (
        "tcp-timeout",
        "cattle-ops/terraform-aws-gitlab-runner#1043",
        'WARNING: Failed to pull image with policy "always": error during connect: Post "https://10.0.48.179:2376/v1.41/images/create?fromImage=registry.gitlab.com%2Fgitlab-org%2Fgitlab-runner%2Fgitlab-runner-helper&tag=x86_64-4d1ca121": dial tcp 10.0.48.179:2376: connect: no route to host',
        "the Docker daemon's port 2376 is unreachable, not a registry",
    ),
    (
        "dns-failure",
        "cri-o/cri-o#2331",
        'pulling image failed: rpc error: code = Unknown desc = error pinging docker registry registry-1.docker.io: Get "https://registry-1.docker.io/v2/": proxyconnect tcp: dial tcp: lookup http: Temporary failure in name resolution',
        "the proxy's name does not resolve (proxyconnect), not the registry's",
    ),
    (
        "auth-missing-credentials",
        "ghusta/docker-postgres-world-db#17",
        "ERROR: failed to solve: server message: insufficient_scope: authorization failed",
        "a token without the scope asked for: rights, not a missing login",
    ),
    (
        "auth-missing-credentials",
        "docker/hub-feedback#826",
        "Error while pulling image: Get https://index.docker.io/v1/repositories/library/hello-world/images: Proxy Authentication Required",
        "the forward proxy wants credentials (407), not the registry",
    ),
    (
        "auth-token-bad-response",
        "ReSearchITEng/kubeadm-playbook#98",
        "dockerd[41140]: unable to configure the Docker daemon with file /etc/docker/daemon.json: invalid character '}' looking for beginning of object key string",
        "daemon.json does not parse, no token response",
    ),
    (
        "auth-token-bad-response",
        "hashicorp/terraform-provider-kubernetes#145",
        '* kubernetes_secret.container-repository: Secret "azurecr" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid character \'e\' looking for beginning of value',
        "a pull secret's .dockerconfigjson does not parse, no token response",
    ),
    (
        "http-proxy-error-page",
        "rnanosaur/nanosaur#47",
        "dockerd[17670]: unable to configure the Docker daemon with file /etc/docker/daemon.json: invalid character '<' looking for beginning of value",
        "the HTML is in daemon.json, not in a proxy's answer",
    ),
    (
        "http-protocol-error",
        "moby/moby#41268",
        "# unable to configure the Docker daemon with file /etc/docker/daemon.json: EOF",
        "an empty daemon.json, not a connection cut",
    ),
    (
        "auth-token-server-error",
        "docker-archive-public/docker.kitematic#2771",
        '(HTTP code 500) server error - {"message":"Get https://registry-1.docker.io/v2/library/redis/manifests/latest: Get https://auth.docker.io/token?account=daishun&scope=repository%3Alibrary%2Fredis%3Apull&service=registry.docker.io: net/http: TLS handshake timeout"}',
        "the 500 is the daemon's wrapper; the token request timed out in the TLS handshake",
    ),
    (
        "tls-verify-error",
        "moby/moby#20137",
        "Error while pulling image: Get https://index.docker.io/v1/repositories/library/ubuntu/images: x509: certificate has expired or is not yet valid",
        "an x509 error that names its cause (expiry): tls-expired's",
    ),
    (
        "tls-verify-error",
        "boomix/BoomPanel#24",
        "Error response from daemon: Get https://registry.indietyp.com/v2/: x509: certificate is valid for bilal-mahmoud.de, indietyp.com, not registry.indietyp.com",
        "an x509 error that names its cause (the names): tls-hostname-mismatch's",
    ),
    (
        "tls-verify-error",
        "Azure/acr#700",
        'Get "https://container-registry.contoso.com/v2/": x509: certificate relies on legacy Common Name field, use SANs instead',
        "an x509 error that names its cause (CN only): tls-cn-only's",
    ),
    (
        "image-manifest-unknown",
        "ChatGPTNextWeb/NextChat#1028",
        'msg="Attempting next endpoint for pull after error: manifest unknown: OCI index found, but accept header does not support OCI indexes"',
        "the index exists; the client's Accept header left it out",
    ),
    (
        "image-manifest-unknown",
        "aws-samples/bottlerocket-images-cache#7",
        "unpacking linux/arm64 sha256:b9ab2c28208d75a75807445d4c370801da3992817325cc349764ad740abe40a6... ctr: no match for platform in manifest sha256:b9ab2c28208d75a75807445d4c370801da3992817325cc349764ad740abe40a6: not found",
        "the index has no entry for the platform",
    ),
    (
        "image-access-denied",
        "CircleCI-Public/aws-ecr-orb#265",
        "ERROR: denied: Your authorization token has expired. Reauthenticate and try again.",
        "the denial's reason is an expired token",
    ),
    (
        "image-access-denied-anonymous",
        "aws/aws-cli#7977",
        "Error response from daemon: pull access denied for CUSTID.dkr.ecr.REGION.amazonaws.com/project, repository does not exist or may require 'docker login': denied: Your authorization token has expired. Reauthenticate and try again.",
        "the wrapped reason is an expired token",
    ),
    (
        "auth-token-refused",
        "crossplane-contrib/provider-helm#208",
        "Error: failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Adragonflydb%2Fdragonfly%2Fhelm%2Fdragonfly%2Fdragonfly%3Apull&service=ghcr.io: 403 Forbidden",
        "the token server's 403: a known caller refused the repository (rights), not a login",
    ),
    (
        "auth-token-refused",
        "roboreg/roboreg#117",
        "Error: buildx failed with: ERROR: failed to build: failed to solve: failed to fetch oauth token: unexpected status from GET request to https://auth.docker.io/token?scope=repository%3Alibrary%2Froboreg%3Apull%2Cpush&service=registry.docker.io: 401 Unauthorized: access token has insufficient scopes",
        "the token server refused the scope asked for (insufficient scopes), not the login",
    ),
    (
        "http-server-error",
        "rpardini/docker-registry-proxy#136",
        'Failed to pull image "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.1.1": rpc error: code = Unknown desc = Error response from daemon: Get "https://registry.k8s.io/v2/": Bad Gateway',
        "a bare status text as the URL error's cause: the proxy refused CONNECT, no registry answered",
    ),
    (
        "http-server-error",
        "chobits/ngx_http_proxy_connect_module#321",
        'Error response from daemon: Head "https://registry-1.docker.io/v2/library/nginx/manifests/latest": Get "https://auth.docker.io/token?scope=repository%3Alibrary%2Fnginx%3Apull&service=registry.docker.io": Bad Gateway',
        "the forward proxy refused CONNECT to the token server",
    ),
    (
        "auth-token-server-error",
        "chobits/ngx_http_proxy_connect_module#321",
        'Error response from daemon: Head "https://registry-1.docker.io/v2/library/nginx/manifests/latest": Get "https://auth.docker.io/token?scope=repository%3Alibrary%2Fnginx%3Apull&service=registry.docker.io": Bad Gateway',
        "the forward proxy refused CONNECT to the token server; the token server never answered",
    ),
    (
        "tls-unknown-authority",
        "moby/buildkit#3638",
        'error: listing workers for Build: failed to list workers: Unavailable: connection error: desc = "transport: authentication handshake failed: x509: certificate signed by unknown authority"',
        "gRPC's TLS between buildctl and a remote buildkitd, not a registry's certificate",
    ),
    (
        "tls-verify-error",
        "moby/buildkit#3638",
        'error: listing workers for Build: failed to list workers: Unavailable: connection error: desc = "transport: authentication handshake failed: x509: certificate signed by unknown authority"',
        "gRPC's TLS between buildctl and a remote buildkitd, not a registry's certificate",
    ),
    (
        "http-timeout",
        "ciiiii/cloudflare-docker-proxy#85",
        'Failed to pull image "registry.k8s.io/ingress-nginx/controller:v1.11.2": rpc error: code = DeadlineExceeded desc = failed to pull and unpack image "registry.k8s.io/ingress-nginx/controller:v1.11.2": failed to resolve reference "registry.k8s.io/ingress-nginx/controller:v1.11.2": failed to do request: Head "https://us-west2-docker.pkg.dev/v2/k8s-artifacts-prod/images/ingress-nginx/controller/manifests/v1.11.2": dial tcp 74.125.203.82:443: i/o timeout',
        "the dial to the address timed out (the connection never completed); DeadlineExceeded is gRPC's wrapper",
    ),
    (
        "http-protocol-error",
        "moby/moby#31779",
        'Error response from daemon: Get https://registry-1.docker.io/v2/: malformed HTTP response "\\x15\\x03\\x01\\x00\\x02\\x02\\x16"',
        "the 'malformed' answer is a TLS alert record: plain HTTP spoken to a TLS port",
    ),
]

#: The same rules still fire on their own wording (lines from their match cases).
STILL_FIRES = [
    (
        "tcp-refused",
        'Get "https://registry.example.test/v2/": dial tcp 192.0.2.10:443: connect: connection refused',
    ),
    (
        "tcp-timeout",
        'Get "https://registry.example.test/v2/": dial tcp 192.0.2.10:443: i/o timeout',
    ),
    (
        "tcp-timeout",
        'Get "https://[2001:db8::10]:5000/v2/": dial tcp [2001:db8::10]:5000: connect: connection timed out',
    ),
    (
        "dns-failure",
        'Get "https://registry.example.test/v2/": dial tcp: lookup registry.example.test on 192.0.2.53:53: read udp 192.0.2.20:41000->192.0.2.53:53: i/o timeout',
    ),
    (
        "auth-missing-credentials",
        'Error response from daemon: Head "https://registry.example.test/v2/app/manifests/1": no basic auth credentials',
    ),
    (
        "auth-token-server-error",
        "failed to authorize: failed to fetch anonymous token: unexpected status: 503 Service Unavailable",
    ),
    (
        "auth-token-bad-response",
        "failed to fetch oauth token: invalid character 'T' looking for beginning of value",
    ),
    (
        "tls-verify-error",
        'Get "https://registry.example.test/v2/": x509: certificate signed by unknown authority',
    ),
    ("image-access-denied", "denied: requested access to the resource is denied"),
    ("image-manifest-unknown", "manifest unknown: manifest unknown"),
    (
        "auth-token-refused",
        "failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized",
    ),
    (
        "http-server-error",
        "Error response from daemon: received unexpected HTTP status: 502 Bad Gateway",
    ),
    (
        "auth-token-server-error",
        'Get "https://auth.example.test/token?scope=repository%3Aapp%3Apull&service=registry.example.test": unexpected status code 503 Service Unavailable',
    ),
]


def _fires(rule_id: str, line: str) -> bool:
    return match_rule(RULES[rule_id], normalise_line(line)) is not None


@pytest.mark.parametrize(
    ("rule", "source", "line", "meaning"),
    DOES_NOT_FIRE,
    ids=[f"{r}:{s}" for r, s, _l, _m in DOES_NOT_FIRE],
)
def test_the_rule_does_not_fire_where_its_words_mean_another_cause(rule, source, line, meaning):
    assert not _fires(rule, line), f"{rule} fires on a line where {meaning} ({source})"


@pytest.mark.parametrize(("rule", "line"), STILL_FIRES, ids=[r for r, _l in STILL_FIRES])
def test_the_rule_still_fires_on_its_own_wording(rule, line):
    assert _fires(rule, line)
