"""Commands filled for the shell: values quoted where they land, unknown values as shell
variables the command sets, conditional text; every result checked with ``bash -n`` and
run where it is harmless."""

from __future__ import annotations

import subprocess

import pytest

from regdoctor.engine.command_template import render_command, shell_variable
from regdoctor.engine.template import render, template_problems


def bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=10,
        env={"PATH": "/usr/bin:/bin", **env},
    )


def syntax_ok(script: str) -> bool:
    return subprocess.run(["bash", "-n"], input=script, text=True, timeout=10).returncode == 0


@pytest.mark.parametrize(
    "template",
    [
        "printf '%s\\n' {v}",
        "printf '%s\\n' '{v}'",
        "printf '%s\\n' \"{v}\"",
        "cat <<'EOF'\n{v}\nEOF",
        "cat <<EOF\n{v}\nEOF",
    ],
)
@pytest.mark.parametrize(
    "value", ["r.test:5000", "a b", "it's", 'q"uote', "$(touch pwned)", "`id`", "x;y|z", "a\\b"]
)
def test_known_values_reach_the_command_as_they_are(tmp_path, template, value):
    command = render_command(template, {"v": value})
    assert syntax_ok(command), command
    result = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, cwd=tmp_path, timeout=10
    )
    assert result.stdout == value + "\n", command
    assert not (tmp_path / "pwned").exists()


def test_a_comment_keeps_the_value_on_its_line():
    command = render_command("# about {v}\necho ok", {"v": "x\ntouch pwned"})
    assert command.splitlines() == ["# about x touch pwned", "echo ok"]


@pytest.mark.parametrize(
    ("template", "variable", "expected"),
    [
        ("docker login {registry}", "REGISTRY", 'docker login "${REGISTRY:?}"'),
        ("grep -n '{host}' f", "HOST", "grep -n ''\"${HOST:?}\"'' f"),
        ('curl "https://{hostport}/v2/"', "HOSTPORT", 'curl "https://${HOSTPORT:?}/v2/"'),
        ("# see {registry}\ntrue", "REGISTRY", "# see $REGISTRY\ntrue"),
    ],
)
def test_unknown_values_become_variables_set_first(template, variable, expected):
    command = render_command(template, {})
    first, *rest = command.splitlines()
    assert first.startswith(f"{variable}=''  # fill in: ")
    assert "\n".join(rest) == expected
    assert "<" not in command.replace("<<", "")
    assert syntax_ok(command)


def test_an_unset_variable_stops_the_command_before_it_acts(tmp_path):
    command = render_command("mkdir -p {d}/certs.d/{registry}", {"d": str(tmp_path)})
    result = bash(command)
    assert result.returncode != 0
    assert "REGISTRY" in result.stderr
    assert list(tmp_path.iterdir()) == []
    filled = command.replace("REGISTRY=''", "REGISTRY='r.test:5000'")
    assert bash(filled).returncode == 0
    assert (tmp_path / "certs.d" / "r.test:5000").is_dir()


def test_a_quoted_heredoc_that_needs_a_variable_becomes_unquoted(tmp_path):
    template = "cat > {d}/hosts.toml <<'EOF'\nserver = \"https://{registry}\"\n# $HOME `x` \\n\nEOF"
    command = render_command(template, {"d": str(tmp_path)})
    assert "<<EOF" in command
    assert syntax_ok(command)
    filled = command.replace("REGISTRY=''", "REGISTRY=r.test")
    assert bash(filled, HOME="/nowhere").returncode == 0
    assert (tmp_path / "hosts.toml").read_text() == 'server = "https://r.test"\n# $HOME `x` \\n\n'


def test_a_quoted_heredoc_with_known_values_stays_quoted():
    command = render_command("cat <<'EOF'\n$X {registry}\nEOF", {"registry": "r.test"})
    assert command == "cat <<'EOF'\n$X r.test\nEOF"


# -- conditionals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "context", "expected"),
    [
        ("a{if loopback} local{end}.", {"loopback": True}, "a local."),
        ("a{if loopback} local{end}.", {"loopback": False}, "a."),
        ("{if port_given}ok{else}write {host}:PORT{end}", {"host": "h"}, "write h:PORT"),
        (
            "{unless proxy}direct{else}via {proxy}{end}",
            {"proxy": "http://p:3128"},
            "via http://p:3128",
        ),
        ("{if a}A{if b}B{else}b{end}{else}x{end}", {"a": 1, "b": 0}, "Ab"),
        ("{{if a}} {if a}y{end}", {"a": True}, "{if a} y"),
    ],
)
def test_conditionals_pick_the_text_that_fits(template, context, expected):
    assert template_problems(template) == []
    assert render(template, context) == expected


@pytest.mark.parametrize("template", ["{if a}x", "x{end}", "{if a}{else}{else}{end}", "{else}"])
def test_broken_conditionals_are_rejected(template):
    assert template_problems(template)


def test_conditionals_work_in_commands():
    template = "{if port_given}true{else}echo {registry}:5000{end}"
    assert render_command(template, {"port_given": True}) == "true"
    assert render_command(template, {"registry": "r.test"}) == "echo r.test:5000"


def test_conditionals_see_the_runtimes_the_run_judges(tmp_path):
    from regdoctor.engine import evaluate, load_catalog
    from tests.engine.engine_helpers import obs, target, write_rule

    step = {
        "text": "Fix it.{if runtime_kubernetes} On every node, too.{end}",
        "checks": {"docker": "getent ahosts {host}"},
    }
    write_rule(tmp_path, "scoped", remediation=[step])
    catalog = load_catalog([tmp_path], bundled=False)
    observations = [obs("dns.answer", outcome="nxdomain")]
    found = {
        scope: evaluate(catalog, target(), observations, runtimes=scope)[0]
        for scope in (("docker",), ("docker", "kubernetes"))
    }
    assert found[("docker",)].remediation[0].text == "Fix it."
    assert found[("docker", "kubernetes")].remediation[0].text == "Fix it. On every node, too."
    assert found[("docker",)].remediation[0].checks == {"docker": "getent ahosts registry.test"}


def test_an_unknown_pull_secret_is_a_fill_in_that_says_where_to_find_it():
    """image-access-denied from a pasted kubelet error: the Secret is not known, so the
    fix names none (never a guessed regcred): the user fills in the pod's own."""
    command = render_command("kubectl get secret {secret} -n default -o json", {})
    first, second = command.splitlines()
    assert first.startswith("SECRET=''  # fill in: the name of the pull secret the pod uses")
    assert ".spec.imagePullSecrets" in first
    assert second == 'kubectl get secret "${SECRET:?}" -n default -o json'


def test_a_filled_in_variable_with_a_space_or_a_glob_stays_one_word(tmp_path):
    """Bare, the fill-in is double-quoted: the value the user sets is one argument, never
    split at its space nor matched as a glob against the working directory's files."""
    (tmp_path / "one.txt").write_text("")
    command = render_command("cd {d} && printf '[%s]\\n' {registry}", {"d": str(tmp_path)})
    assert '"${REGISTRY:?}"' in command
    filled = command.replace("=''", "='a b *.txt'", 1)
    result = bash(filled)
    assert result.stdout == "[a b *.txt]\n", filled


def test_a_fill_in_never_takes_the_name_of_a_well_known_variable():
    """``{path}`` unknown was ``PATH=''`` then ``"${PATH:?}"``: the fix's shell lost its
    commands (no rule had it yet; a rule that does must not clobber the shell)."""
    out = render_command("cp ./ca.crt {path}\nsudo systemctl restart docker", {})
    assert out.splitlines()[0] == "FIX_PATH=''  # fill in: the file's path"
    assert 'cp ./ca.crt "${FIX_PATH:?}"' in out
    assert not any(line.startswith("PATH=") for line in out.splitlines())
    for name in ("home", "ifs", "user", "pythonpath", "ld_preload", "registry_auth_file"):
        variable = shell_variable(name)
        assert variable.startswith("FIX_"), variable
        assert f"{variable}=''" in render_command("echo {" + name + "}", {})
    # the others keep their names (rules and docs say REGISTRY, NAMESPACE...)
    assert shell_variable("registry") == "REGISTRY"
    assert shell_variable("new_secret") == "NEW_SECRET"


def test_a_step_s_text_names_the_variable_its_command_sets():
    """template.step_missing rendered ``$PATH`` in a step's text while the command set
    ``FIX_PATH``: both use shell_variable now."""
    from regdoctor.engine.template import render, step_missing

    assert render("copy the CA to {path}", {}, step_missing) == "copy the CA to $FIX_PATH"
    command = render_command("cp ./ca.crt {path}", {})
    assert "FIX_PATH=''" in command
    assert step_missing("registry") == "$REGISTRY"


def test_two_fill_ins_never_share_a_variable():
    """``{path}`` and ``{fix_path}`` both became FIX_PATH: one ``FIX_PATH=''`` line, so
    filling in one filled in both."""
    assert shell_variable("path") != shell_variable("fix_path")
    out = render_command("cp {fix_path} {path}", {})
    assert out.splitlines()[:2] == [
        "FIX_FIX_PATH=''  # fill in: the fix fix path",
        "FIX_PATH=''  # fill in: the file's path",
    ]
    # names the rules use keep theirs
    assert shell_variable("fix_bad") == "FIX_BAD"


def test_inherited_tls_and_client_variables_are_never_a_fill_in():
    """A fix run with SSL_CERT_FILE='' or CONTAINER_HOST='' in its shell changes what
    curl, openssl, podman --remote... do on the lines after it."""
    for name in (
        "ssl_cert_file",
        "ssl_cert_dir",
        "curl_ca_bundle",
        "container_host",
        "container_connection",
        "requests_ca_bundle",
        "kubeconfig",
        "openssl_conf",
        "gopath",
    ):
        variable = shell_variable(name)
        assert variable == "FIX_" + name.upper(), variable
