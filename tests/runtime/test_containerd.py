from regdoctor.runtime import (
    ErrorKind,
    containerd_endpoints,
    containerd_falls_back,
    cri_legacy_endpoints,
    host_dir_candidates,
    image_pull_progress_timeout,
    parse_hosts_toml,
    validate_cri_registry,
)

MIRRORS = """
server = "https://registry-1.docker.io"

[host."https://m1.example.com"]
  capabilities = ["pull", "resolve"]

[host."https://m2.example.com"]
  capabilities = ["pull"]
  skip_verify = true
"""


def test_default_without_hosts_toml():
    (e,) = containerd_endpoints("quay.io")
    assert e.url == "https://quay.io/v2/" and not e.mirror
    (e,) = containerd_endpoints("docker.io")
    assert e.host == "registry-1.docker.io"


def test_hosts_in_file_order_then_server_and_resolve_capability():
    tag = containerd_endpoints("docker.io", MIRRORS)
    assert [e.host for e in tag] == ["m1.example.com", "registry-1.docker.io"]
    digest = containerd_endpoints("docker.io", MIRRORS, by_digest=True)
    assert [e.host for e in digest] == ["m1.example.com", "m2.example.com", "registry-1.docker.io"]
    assert digest[1].skip_verify and digest[1].mirror and not digest[2].mirror


def test_missing_host_table_ignored_in_1_6_and_1_7_but_not_2():
    doc = 'server = "https://mirror.example.com"\n'
    hf = parse_hosts_toml(doc)
    assert hf.hosts is None and "invalid `host` tree" in hf.problems[0].message
    assert [e.host for e in containerd_endpoints("docker.io", doc)] == ["registry-1.docker.io"]
    assert [e.host for e in containerd_endpoints("docker.io", doc, version="1.7.29")] == [
        "registry-1.docker.io"
    ]
    assert [e.host for e in containerd_endpoints("docker.io", doc, version="2.0.0")] == [
        "mirror.example.com"
    ]


def test_decode_errors_are_ignored_not_fatal():
    bad = '[host."https://m"]\ncapabilities = ["pull", "fetch"]\n'
    hf = parse_hosts_toml(bad)
    assert hf.hosts is None and hf.problems[0].severity == "ignored"
    assert "unknown capability fetch" in hf.problems[0].message
    hf = parse_hosts_toml("server = \n")
    assert hf.hosts is None and hf.problems


def test_server_without_scheme_or_port_and_path_rules():
    doc = 'server = "registry.example.com"\n[host."mirror.example.com:5000"]\n'
    eps = containerd_endpoints("registry.example.com", doc)
    assert [e.url for e in eps] == [
        "https://mirror.example.com:5000/v2/",
        "https://registry.example.com/v2/",
    ]


def test_override_path_and_v2_trap():
    harbor = '[host."https://harbor.example.com/v2/proxy"]\n'
    (e, _) = containerd_endpoints("docker.io", harbor)
    assert e.path_prefix == "/v2/proxy/v2"  # /v2 appended: usually wrong for Harbor
    fixed = '[host."https://harbor.example.com/v2/proxy"]\noverride_path = true\n'
    (e, _) = containerd_endpoints("docker.io", fixed)
    assert e.path_prefix == "/v2/proxy" and e.notes
    bare = '[host."https://m.example.com"]\noverride_path = true\n'
    (e, _) = containerd_endpoints("docker.io", bare)
    assert e.path_prefix == "/"  # no /v2 at all
    v2 = '[host."https://m.example.com/v2"]\n'
    (e, _) = containerd_endpoints("docker.io", v2)
    assert e.path_prefix == "/v2"


def test_header_and_ca_are_parsed():
    doc = '[host."https://m"]\nca = "ca.crt"\n[host."https://m".header]\nX-Token = ["a", "b"]\n'
    (e, _) = containerd_endpoints("docker.io", doc)
    assert e.headers == (("X-Token", "a"), ("X-Token", "b"))


def test_localhost_default_by_version():
    (e,) = containerd_endpoints("localhost:5000")
    assert (e.scheme, e.skip_verify, e.http_fallback) == ("http", True, False)
    (e,) = containerd_endpoints("localhost:5000", version="1.6.25")
    assert (e.scheme, e.skip_verify, e.http_fallback) == ("https", True, True)
    (e,) = containerd_endpoints("localhost", version="1.7.29")
    assert (e.scheme, e.http_fallback) == ("https", False)
    (e,) = containerd_endpoints("[::1]:5000")
    assert e.scheme == "http"
    (e,) = containerd_endpoints("127.0.0.1:80", version="2.0.0")
    assert (e.scheme, e.http_fallback) == ("http", False)


def test_plain_http_host_with_tls_config_tries_https_first_in_new_versions():
    doc = '[host."http://m.example.com:5000"]\nskip_verify = true\n'
    (e, _) = containerd_endpoints("docker.io", doc)
    assert (e.scheme, e.http_fallback) == ("http", False)
    (e, _) = containerd_endpoints("docker.io", doc, version="1.7.29")
    assert (e.scheme, e.http_fallback) == ("https", True)


def test_certs_d_directory_naming():
    assert host_dir_candidates("reg.example.com:5000", "/etc/containerd/certs.d") == [
        "/etc/containerd/certs.d/reg.example.com_5000_",
        "/etc/containerd/certs.d/reg.example.com:5000",
        "/etc/containerd/certs.d/_default",
    ]
    assert host_dir_candidates("docker.io", "/d") == ["/d/docker.io", "/d/_default"]


def test_fallback_on_any_error_except_redirect():
    assert containerd_falls_back(ErrorKind.NOT_FOUND)
    assert containerd_falls_back(ErrorKind.UNAUTHORIZED)
    assert containerd_falls_back(ErrorKind.CONNECT)
    assert not containerd_falls_back(ErrorKind.REDIRECT_UNHANDLED)


def test_cri_mirrors_and_config_path_conflict():
    (p,) = validate_cri_registry({"config_path": "/etc/containerd/certs.d", "mirrors": {"x": {}}})
    assert p.fatal and p.message == (
        "invalid plugin config: `mirrors` cannot be set when `config_path` is provided"
    )
    (p,) = validate_cri_registry({"mirrors": {"docker.io": {"endpoint": ["https://m"]}}})
    assert p.severity == "warning"


def test_cri_legacy_mirrors():
    eps = cri_legacy_endpoints("docker.io", {"docker.io": ["m.example.com"]})
    assert [e.url for e in eps] == ["https://m.example.com/v2/", "https://registry-1.docker.io/v2/"]
    eps = cri_legacy_endpoints("localhost:5000", {})
    assert eps[0].scheme == "http"


def test_pull_progress_timeout():
    assert image_pull_progress_timeout("1.6.20") is None
    assert image_pull_progress_timeout("1.7.5") == 60.0
    assert image_pull_progress_timeout("1.7.29") == 300.0
    assert image_pull_progress_timeout("2.0.0", "2m30s") == 150.0
    assert image_pull_progress_timeout("1.7.29", "0") is None
