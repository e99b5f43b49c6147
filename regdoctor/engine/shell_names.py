"""The shell variable a fix command's unknown fill-in becomes (``{registry}`` ->
``$REGISTRY``), shared by the commands (:mod:`regdoctor.engine.command_template`) and
the steps' text (:func:`regdoctor.engine.template.step_missing`), so that both name it
alike."""

from __future__ import annotations

import re

__all__ = ["shell_variable"]

#: Variables of the shell, of the programs a fix runs and of the user's session: a
#: fill-in never takes one of these names (``{path}`` as ``PATH=''`` would leave the
#: fix's shell without its commands; ``IFS``, ``HOME``, ``REGISTRY_AUTH_FILE`` or
#: ``PYTHONPATH`` would change what the lines after it do).
_WELL_KNOWN = frozenset(
    [
        "BASHOPTS",
        "CDPATH",
        "COLUMNS",
        "DISPLAY",
        "EDITOR",
        "ENV",
        "EUID",
        "FCEDIT",
        "GLOBIGNORE",
        "GODEBUG",
        "GOFLAGS",
        "GOPATH",
        "GOPROXY",
        "GOROOT",
        "GROUPS",
        "HISTFILE",
        "HOME",
        "HOSTNAME",
        "HOSTTYPE",
        "IFS",
        "KUBECONFIG",
        "LANG",
        "LANGUAGE",
        "LINENO",
        "LINES",
        "LOGNAME",
        "MACHTYPE",
        "MAIL",
        "MAILPATH",
        "NO_PROXY",
        "NODE_EXTRA_CA_CERTS",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "FTP_PROXY",
        "OLDPWD",
        "OPTARG",
        "OPTERR",
        "OPTIND",
        "OSTYPE",
        "PAGER",
        "PATH",
        "PIPESTATUS",
        "POSIXLY_CORRECT",
        "PPID",
        "PROMPT_COMMAND",
        "PS0",
        "PS1",
        "PS2",
        "PS3",
        "PS4",
        "PWD",
        "RANDOM",
        "REGISTRY_AUTH_FILE",
        "REGISTRIES_CONFIG_PATH",
        "REQUESTS_CA_BUNDLE",
        "REPLY",
        "SECONDS",
        "SHELL",
        "SHELLOPTS",
        "SHLVL",
        "TERM",
        "TMOUT",
        "TMPDIR",
        "TEMP",
        "TMP",
        "TZ",
        "UID",
        "USER",
        "VISUAL",
    ]
)
_WELL_KNOWN_PREFIXES = (
    "BASH",
    "BUILDAH_",
    "CONTAINER_",  # podman --remote: CONTAINER_HOST, CONTAINER_CONNECTION...
    "CONTAINERD_",
    "CONTAINERS_",
    "CURL_",  # CURL_CA_BUNDLE
    "DOCKER_",
    "GIT_",
    "HIST",
    "KUBE",
    "LC_",
    "LD_",
    "OPENSSL_",
    "PODMAN_",
    "PYTHON",
    "SKOPEO_",
    "SSH_",
    "SSL_",  # SSL_CERT_FILE, SSL_CERT_DIR (OpenSSL, Go's crypto/x509)
    "SUDO_",
    "XDG_",
)


def _taken(variable: str) -> bool:
    """A name the shell, the fix's programs or the session use, or ``FIX_`` and such a
    name (so that ``{fix_path}`` does not become ``{path}``'s ``FIX_PATH``)."""
    if variable in _WELL_KNOWN or variable.startswith(_WELL_KNOWN_PREFIXES):
        return True
    return variable.startswith("FIX_") and _taken(variable[4:])


def shell_variable(name: str) -> str:
    """The variable that stands for ``name``: ``registry`` -> ``REGISTRY``; a name the
    shell, the fix's programs or the session already use gets ``FIX_`` in front
    (``path`` -> ``FIX_PATH``, never ``PATH``), and so does ``FIX_`` and such a name
    (``fix_path`` -> ``FIX_FIX_PATH``): two fill-ins never share a variable."""
    variable = re.sub(r"[^A-Z0-9_]", "_", name.upper())
    return f"FIX_{variable}" if _taken(variable) else variable
