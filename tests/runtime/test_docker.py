import pytest

from regdoctor.runtime import (
    DaemonWouldNotStart,
    ErrorKind,
    docker_cli_auth,
    docker_endpoints,
    docker_falls_back,
    docker_tries_plain_http_after,
    is_secure_index,
    validate_daemon_json,
    validate_mirror,
)

WRAP = "unable to configure the Docker daemon with file /etc/docker/daemon.json: "


def urls(eps):
    return [e.url for e in eps]


def test_hub_mirrors_first_then_official_and_deduplicated():
    eps = docker_endpoints(
        "docker.io", mirrors=["https://m1.example.com", "https://m1.example.com/", "http://m2:5000"]
    )
    assert urls(eps) == [
        "https://m1.example.com/v2/",
        "http://m2:5000/v2/",
        "https://registry-1.docker.io/v2/",
    ]
    assert [e.mirror for e in eps] == [True, True, False]
    assert "credentials" in eps[0].notes[0]


def test_index_docker_io_is_hub_but_registry_1_is_not():
    assert urls(docker_endpoints("index.docker.io", mirrors=["https://m"]))[0] == "https://m/v2/"
    eps = docker_endpoints("registry-1.docker.io", mirrors=["https://m"])
    assert urls(eps) == ["https://registry-1.docker.io/v2/"]


def test_mirrors_ignored_for_other_registries():
    assert urls(docker_endpoints("quay.io", mirrors=["https://m"])) == ["https://quay.io/v2/"]


def test_secure_registry_https_only():
    eps = docker_endpoints("reg.example.com", resolved_ips=["192.0.2.10"])
    assert len(eps) == 1 and not eps[0].skip_verify


def test_insecure_host_port_entry_gives_https_skip_verify_then_http():
    eps = docker_endpoints("myreg:5000", insecure_registries=["myreg:5000"])
    assert [(e.scheme, e.skip_verify) for e in eps] == [("https", True), ("http", True)]


def test_insecure_name_without_port_does_not_cover_port():
    assert is_secure_index("myreg:5000", insecure_registries=["myreg"])


def test_cidr_entry_matches_resolved_ip_of_a_name():
    assert not is_secure_index(
        "reg.internal:5000", insecure_registries=["198.51.100.0/24"], resolved_ips=["198.51.100.3"]
    )
    assert is_secure_index(
        "reg.internal:5000", insecure_registries=["198.51.100.0/24"], resolved_ips=["192.0.2.1"]
    )
    # unresolvable name: CIDR entries cannot match
    assert is_secure_index("reg.internal", insecure_registries=["198.51.100.0/24"])


def test_loopback_default_insecure_but_not_ipv6_in_20_10():
    assert not is_secure_index("localhost:5000")
    assert not is_secure_index("127.0.0.1:5000")
    assert is_secure_index("[::1]:5000")  # only 127.0.0.0/8 is added in 20.10
    assert not is_secure_index("[::1]:5000", version="28.0")  # ::1/128 since v28.0.0


def test_mirror_insecure_only_via_its_own_host():
    eps = docker_endpoints(
        "docker.io", mirrors=["https://198.51.100.5:5000"], insecure_registries=["198.51.100.0/24"]
    )
    assert eps[0].skip_verify and len(eps) == 2  # no extra http attempt for a mirror


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mirror.example.com", 'invalid mirror: unsupported scheme "" in "mirror.example.com"'),
        (
            "mirror.example.com:5000",
            'invalid mirror: unsupported scheme "mirror.example.com" in "mirror.example.com:5000"',
        ),
        ("198.51.100.1:5000", 'invalid mirror: "198.51.100.1:5000" is not a valid URI'),
        (
            "https://m.example.com/dockerhub",
            'invalid mirror: path, query, or fragment at end of the URI "https://m.example.com/dockerhub"',
        ),
        (
            "https://u:secret@m.example.com",
            'invalid mirror: username/password not allowed in URI "https://u:xxxxx@m.example.com"',
        ),
    ],
)
def test_validate_mirror_20_10_messages(value, message):
    assert validate_mirror(value) == (None, message)


def test_validate_mirror_later_versions():
    assert validate_mirror("https://m.example.com/dockerhub", "25.0") == (
        "https://m.example.com/dockerhub/",
        None,
    )
    assert validate_mirror("198.51.100.1:5000", "24.0")[1] == (
        'invalid mirror: "198.51.100.1:5000" is not a valid URI: parse "198.51.100.1:5000": '
        "first path segment in URL cannot contain colon"
    )
    assert validate_mirror("mirror.example.com", "28.3")[1] == (
        'invalid mirror: no scheme specified for "mirror.example.com": '
        "must use either 'https://' or 'http://'"
    )
    assert validate_mirror("https://m.example.com") == ("https://m.example.com/", None)


def test_endpoints_raise_when_daemon_would_not_start():
    with pytest.raises(DaemonWouldNotStart, match="failed to start daemon: invalid mirror"):
        docker_endpoints("docker.io", mirrors=["mirror.example.com"])


def test_mirror_with_path_in_25_is_used_as_api_root():
    eps = docker_endpoints("docker.io", mirrors=["https://m.example.com/hub/"], version="25.0")
    assert eps[0].path_prefix == "/hub/v2" and eps[0].url == "https://m.example.com/hub/v2/"


def test_daemon_json_trailing_slash_insecure_entry_is_fatal():
    probs = validate_daemon_json({"insecure-registries": ["myreg:5000/"]})
    assert [p.message for p in probs] == [
        'failed to start daemon: insecure registry myreg:5000/ is not valid: invalid host "myreg"'
    ]
    assert probs[0].fatal


def test_daemon_json_scheme_in_insecure_entry():
    probs = validate_daemon_json({"insecure-registries": ["http://myreg:5000"]})
    assert probs[0].severity == "warning"
    assert "'http://' has been removed" in probs[0].message
    probs = validate_daemon_json({"insecure-registries": ["ftp://myreg"]})
    assert (
        probs[0].message
        == "failed to start daemon: insecure registry ftp://myreg should not contain '://'"
    )


def test_daemon_json_invalid_mirror_where_it_fails():
    (p,) = validate_daemon_json({"registry-mirrors": ["mirror.example.com"]})
    assert p.fatal and p.message.startswith("failed to start daemon: invalid mirror")
    (p,) = validate_daemon_json({"registry-mirrors": ["mirror.example.com"]}, "28.5")
    assert p.message.startswith(WRAP)


def test_daemon_json_syntax_errors_use_go_wording():
    assert validate_daemon_json('{"a": 1,}')[0].message == (
        WRAP + "invalid character '}' looking for beginning of object key string"
    )
    assert validate_daemon_json("")[0].message == WRAP + "EOF"
    assert validate_daemon_json('{"debug": true')[0].message == WRAP + "unexpected EOF"
    assert validate_daemon_json('{"debug" true}')[0].message == (
        WRAP + "invalid character 't' after object key"
    )
    assert validate_daemon_json("[]")[0].message == (
        WRAP + "json: cannot unmarshal array into Go value of type map[string]interface {}"
    )
    # Decoder reads only the first value: trailing garbage is accepted
    assert validate_daemon_json('{"debug": true} trailing') == []


def test_daemon_json_unknown_key_and_flattening():
    (p,) = validate_daemon_json({"registry-mirror": ["https://m"], "mirrors": []})
    assert (
        p.message == WRAP + "the following directives don't match any configuration option: mirrors"
    )
    (p,) = validate_daemon_json({"proxies": {"http-proxy": "http://p:3128"}})
    assert "http-proxy" in p.message  # nested object flattened in 20.10
    assert validate_daemon_json({"proxies": {"http-proxy": "x"}}, "25.0") == []


def test_daemon_json_flag_conflict_debian_unit():
    (p,) = validate_daemon_json({"hosts": ["unix:///var/run/docker.sock"]}, flags={"H": ["fd://"]})
    assert p.message == WRAP + (
        "the following directives are specified both as a flag and in the configuration file: "
        "hosts: (from flag: [fd://], from file: [unix:///var/run/docker.sock])"
    )


def test_daemon_json_type_error():
    (p,) = validate_daemon_json({"registry-mirrors": "https://m"})
    assert p.message == WRAP + (
        "json: cannot unmarshal string into Go struct field "
        "Config.registry-mirrors of type []string"
    )


def test_daemon_json_valid():
    assert (
        validate_daemon_json(
            {
                "registry-mirrors": ["https://m.example.com"],
                "insecure-registries": ["198.51.100.0/24"],
            }
        )
        == []
    )


def test_fallback_rules():
    assert docker_falls_back(ErrorKind.CONNECT)
    assert docker_falls_back(ErrorKind.TLS)
    assert docker_falls_back(ErrorKind.NOT_FOUND)
    assert docker_falls_back(ErrorKind.DENIED, mirror=True)
    assert not docker_falls_back(ErrorKind.DENIED)
    assert not docker_falls_back(ErrorKind.TOO_MANY_REQUESTS)
    assert not docker_falls_back(ErrorKind.CANCELLED)
    assert docker_tries_plain_http_after(ErrorKind.TLS)
    assert not docker_tries_plain_http_after(ErrorKind.UNAUTHORIZED)


def test_cli_auth_cred_helpers_override_store_and_hub_key():
    cfg = {
        "credsStore": "desktop",
        "credHelpers": {"gcr.io": "gcloud"},
        "auths": {"https://index.docker.io/v1/": {}, "https://myreg:5000/v2/": {}},
    }
    hub = docker_cli_auth(cfg, "docker.io")
    assert hub.key == "https://index.docker.io/v1/" and hub.store == "helper:desktop"
    assert hub.on_helper_failure.startswith("ignored")
    assert docker_cli_auth(cfg, "gcr.io").store == "helper:gcloud"
    mine = docker_cli_auth({"auths": {"https://myreg:5000/v2/": {}}}, "myreg:5000")
    assert mine.store == "file" and "https://myreg:5000/v2/" in mine.notes[0]
    # "docker.io" as a key never matches the Hub lookup key
    assert docker_cli_auth({"auths": {"docker.io": {}}}, "docker.io").notes == (
        "no auths entry for this key",
    )
