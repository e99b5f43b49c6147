"""What explain says about a paste besides its category: the fields it found, the cause's
words, and remediation texts that never leave a fill-in nothing fills (found in review)."""

# ruff: noqa: E501 - real pasted errors are long lines

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest
import yaml

from regdoctor.engine import chain, load_catalog
from regdoctor.engine.explain import explain

CATALOG = load_catalog()
ROOT = Path(__file__).resolve().parents[2]


def lead(text: str):
    return next(m for m in explain(CATALOG, text) if m.leading)


def test_chain_doctests_pass():
    assert doctest.testmod(chain).failed == 0


def test_a_word_before_the_chains_colon_is_not_an_image():
    """'failed to pull image: read tcp ...' names no image (the colon is the chain's)."""
    match = lead(
        "failed to pull image: read tcp 192.0.2.2:41234->192.0.2.1:443: read: connection reset by peer"
    )
    assert "image" not in match.fields
    assert match.fields.get("registry") != "docker.io"


def test_the_remote_end_of_a_broken_connection_fills_address_and_port():
    match = lead(
        "failed to copy: read tcp 192.0.2.2:41234->192.0.2.1:443: read: connection reset by peer"
    )
    assert (match.fields.get("address"), match.fields.get("port")) == ("192.0.2.1", "443")
    assert all("$PORT" not in step.text for step in match.remediation)


@pytest.mark.parametrize(
    "text",
    [
        # a DNS server's connection is not the registry's
        'Error response from daemon: Get "https://registry.example.test/v2/": dial tcp: lookup registry.example.test on 192.0.2.53:53: read udp 192.0.2.2:41234->192.0.2.53:53: i/o timeout',
    ],
)
def test_a_resolvers_connection_fills_no_address(text):
    assert lead(text).fields.get("address") != "192.0.2.53"


def test_the_cause_holds_words_not_html():
    text = 'Error response from daemon: Get "http://registry.example.test:5000/v2/": error parsing HTTP 403 response body: invalid character \'<\' looking for beginning of value: "<!DOCTYPE html>\\n<html><head>\\n<title>ERROR: The requested URL could not be retrieved</title>"'
    assert lead(text).fields["cause"] == "The requested URL could not be retrieved"
    # a '<' that opens no tag stays
    text = "Error response from daemon: Get \"https://registry.example.test/v2/\": x: invalid character '<' looking for beginning of value"
    assert lead(text).fields["cause"] == "invalid character '<' looking for beginning of value"


def _tuned_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "fixtures" / "pasted").glob("*.yaml")):  # the tuned split only
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("entries") or []:
            texts.append(str(entry["text"]))
    return texts


def test_no_step_text_names_a_variable_that_none_of_its_commands_sets():
    """A step's prose says ``$PORT`` only when one of its commands starts with
    ``PORT=''  # fill in``; otherwise it says what it means ("the registry"). An inline
    command (`` `curl -sv $URL` ``) keeps its shell variable."""
    raw: list[str] = []
    texts = _tuned_texts()
    assert len(texts) > 500
    for text in texts:
        for match in explain(CATALOG, text):
            for step in match.remediation:
                shown = "\n".join((*step.commands.values(), *step.checks.values()))
                prose = "".join(step.text.split("`")[::2])  # not inside an inline command
                for name in re.findall(r"\$([A-Z][A-Z0-9_]*)\b", prose):
                    if f"{name}=''" not in shown:
                        raw.append(f"{match.rule}: ${name}: {step.text[:80]}")
    assert not raw, sorted(set(raw))[:10]
