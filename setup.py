"""Build hook: ship the anywidget front-end sources in ``widgets/`` inside the wheel.

All project metadata lives in ``pyproject.toml``. ``widgets/`` sits at the top of the
repository (one place to edit the ESM/CSS, no npm build), outside the package, so
setuptools' package-data cannot reach it; this hook copies its ``.js``/``.css`` files
into ``llmteams_lab/ui/_widgets/`` of the build, where ``llmteams_lab.ui._assets``
finds them in an installed wheel. Editable installs read ``widgets/`` directly.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WIDGETS = Path(__file__).resolve().parent / "widgets"
PACKAGE = "llmteams_lab.ui._widgets"


class build_py_with_widgets(build_py):  # noqa: N801 (setuptools command naming)
    """``build_py`` plus the widget sources as package data of ``llmteams_lab.ui``."""

    def _get_data_files(self):
        files = list(super()._get_data_files())
        if WIDGETS.is_dir():
            names = sorted(p.name for p in WIDGETS.iterdir() if p.suffix in (".js", ".css"))
            target = str(Path(self.build_lib, *PACKAGE.split(".")))
            files.append((PACKAGE, "widgets", target, names))
        return files


setup(cmdclass={"build_py": build_py_with_widgets})
