"""Registries of their own for the tags tests: a standalone registry with its own
storage (a replica that can diverge), and a pull-through mirror
(``proxy.remoteurl``) of another registry."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.harness import procs
from tests.harness.registry import Registry, RegistryOptions, build_config, wait_all_ready


class MirrorRegistry(Registry):
    """``docker-registry`` in pull-through mode: ``proxy.remoteurl`` = ``remote``."""

    remote: str = ""

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = procs.free_tcp_port()
        config = build_config(self.port, self.storage_root, self.options)
        config["proxy"] = {"remoteurl": self.remote}
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.proc = procs.spawn(
            [procs_bin(), "serve", str(self.config_path)],
            self.log_path,
            procs.clean_env(self.workdir),
        )
        self.ready = False


def procs_bin() -> str:
    from tests.harness.registry import REGISTRY_BIN

    return REGISTRY_BIN


def start_standalone(workdir: Path, name: str) -> Registry:
    registry = Registry(name, workdir / name, workdir / name / "storage", RegistryOptions())
    registry.start()
    wait_all_ready([registry])
    return registry


def start_mirror(workdir: Path, name: str, remote: str) -> MirrorRegistry:
    mirror = MirrorRegistry(name, workdir / name, workdir / name / "storage", RegistryOptions())
    mirror.remote = remote
    mirror.start()
    wait_all_ready([mirror])
    return mirror
