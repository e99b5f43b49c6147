from hypothesis import given
from hypothesis import strategies as st

from regdoctor.net import wwwauth


def test_bearer_challenge():
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/nginx:pull"'
    )
    challenge = wwwauth.first(header)
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.service == "registry.docker.io"
    assert challenge.scope == "repository:library/nginx:pull"


def test_basic_challenge_and_preference():
    assert wwwauth.first('Basic realm="Registry Realm"').scheme == "basic"
    both = 'Basic realm="x", Bearer realm="https://a/token",service="s"'
    assert wwwauth.first(both).scheme == "bearer"


def test_insufficient_scope_error():
    header = (
        'Bearer realm="https://a/token",service="s",scope="repository:x:pull",'
        'error="insufficient_scope"'
    )
    assert wwwauth.first(header).error == "insufficient_scope"


def test_escaped_quotes_and_duplicates():
    challenge = wwwauth.first('Bearer realm="a\\"b",realm="second"')
    assert challenge.realm == 'a"b'


def test_garbage_never_raises():
    assert wwwauth.parse("") == []
    assert wwwauth.parse(None) == []
    wwwauth.parse('Bearer realm="unterminated')
    wwwauth.parse("=,=,=,,,")


def test_many_params_are_capped():
    header = "Bearer " + ",".join(f'p{i}="v"' for i in range(10000))
    challenge = wwwauth.first(header)
    assert challenge is not None
    assert len(challenge.params) <= wwwauth.MAX_PARAMS


@given(st.text(max_size=300))
def test_any_text_parses(text):
    for challenge in wwwauth.parse(text):
        assert isinstance(challenge.scheme, str)
