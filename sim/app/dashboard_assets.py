"""The browser files of the dashboard's page: which ones solara's page loads, whether they are
installed, and installing them from the npm registry.

Solara's page loads its front end (the Vue app with its widgets, and require.js) from a CDN, or,
with its assets proxy, from a folder of the installed environment (``solara.settings.assets.
proxy_cache_dir``, of ``solara.server.settings``). The dashboard never reaches a CDN: it serves these files from that folder
only, so they are installed beforehand (``tuopin dashboard --install-assets``, which ``make``
can run), as the npm packages the CDN mirrors, fetched with npm.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

# Lines of solara's page template that name a package on the CDN: {{cdn}}/<package>@<version>/...
_CDN_PACKAGE = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+)@([\w.-]+)/")
NPM = "npm"


def cache_dir() -> Path:
    """Where solara's assets proxy serves the CDN's files from."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def needed() -> list[tuple[str, str]]:
    """(npm package, version) of every browser file solara's page loads with the installed
    solara and ipyvue: the Vue app of the installed Vue major version, and require.js."""
    import ipyvue
    import solara.server

    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    vue3 = ipyvue.__version__.startswith("3")  # as solara.server.server decides
    packages = []
    for name, version in _CDN_PACKAGE.findall(template.read_text(encoding="utf-8")):
        if name.endswith("solara-vuetify3-app") and not vue3 or name.endswith("solara-vuetify-app") and vue3:
            continue
        if (name, version) not in packages:
            packages.append((name, version))
    return packages


def missing(folder: Path | None = None) -> list[str]:
    """The needed packages not installed in ``folder`` (default: solara's), as name@version."""
    folder = folder or cache_dir()
    return [f"{n}@{v}" for n, v in needed() if not (folder / f"{n}@{v}" / "package.json").is_file()]


def install(folder: Path | None = None, npm: str = NPM) -> list[str]:
    """Fetch the missing packages with npm (``npm pack``: the registry's tarball, no scripts run)
    and unpack each as the CDN lays it out, ``<folder>/<name>@<version>/``. Returns what was
    installed."""
    folder = folder or cache_dir()
    todo = missing(folder)
    if not todo:
        return []
    if shutil.which(npm) is None:
        raise RuntimeError(f"the dashboard's browser files ({', '.join(todo)}) are fetched with npm, "
                           "which is not installed (Debian: apt-get install npm)")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tuopin-assets-") as tmp:
        subprocess.run([npm, "pack", "--silent", "--pack-destination", tmp, *todo], check=True,
                       capture_output=True, text=True, cwd=tmp)
        for spec in todo:
            name, _, version = spec.rpartition("@")
            tarball = Path(tmp) / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"  # npm's name for it
            # Unpacked beside its place and moved there whole: a package is there or it is not.
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
            try:
                with tarfile.open(tarball) as tar:
                    tar.extractall(staging, filter="data")
                target = folder / spec
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    shutil.rmtree(target)
                (staging / "package").rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return todo
