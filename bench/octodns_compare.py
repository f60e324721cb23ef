"""octoDNS planning N records YAML -> YAML, for comparison with our plan at the same N.

octoDNS is not a dependency: ``bench/plan_scale.py --octodns-python PATH`` names an interpreter
that can import it (for example a throwaway virtualenv with ``pip install octodns``). The zone
mirrors the contacts benchmark: N records in the config, the target 1% off (changed values,
removed and extra records), planned with ``Manager.sync()`` (a dry run: plan only).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

ZONE = "example.com."

DRIVER = """
import sys
from octodns.manager import Manager
Manager(sys.argv[1]).sync()
"""


def _record(i: int, changed: bool) -> str:
    last = (i + 1) % 250 if changed else i % 250
    return f"c{i:07d}:\n  type: A\n  value: 10.{i // 65536 % 256}.{i // 256 % 256}.{last}\n"


def build_zone(root: Path, records: int) -> Path:
    """Write the octoDNS config, the desired zone and the 1%-off live zone; return the config."""
    drift = max(3, records // 100)
    changed = set(range(0, records, max(1, records // (drift // 3 or 1))))
    removed = {i + 1 for i in changed if i + 1 < records}
    config, live = root / "config", root / "live"
    config.mkdir(parents=True, exist_ok=True)
    live.mkdir(parents=True, exist_ok=True)
    with open(config / f"{ZONE}yaml", "w", encoding="utf-8") as out:
        out.write("---\n")
        for i in range(records):
            out.write(_record(i, False))
    with open(live / f"{ZONE}yaml", "w", encoding="utf-8") as out:
        out.write("---\n")
        for i in range(records + drift // 3):
            if i not in removed:
                out.write(_record(i, i in changed))
    path = root / "octodns.yaml"
    path.write_text(
        "providers:\n"
        "  config: {class: octodns.provider.yaml.YamlProvider, directory: ./config}\n"
        "  live: {class: octodns.provider.yaml.YamlProvider, directory: ./live}\n"
        f"zones:\n  {ZONE}:\n    sources: [config]\n    targets: [live]\n",
        encoding="utf-8",
    )
    return path


def available(python: str | None) -> str | None:
    """The octoDNS version importable from ``python``, or None (with the reason printed)."""
    if not python:
        print(
            "octoDNS                       not run: pass --octodns-python PATH (an interpreter with octodns)"
        )
        return None
    try:
        found = subprocess.run(
            [python, "-c", "import octodns; print(octodns.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError as exc:
        print(f"octoDNS: not available; cannot run {python} ({exc.strerror})")
        return None
    if found.returncode != 0:
        print(f"octoDNS: not available; {python} cannot import octodns")
        return None
    return found.stdout.strip()


def plan_seconds(python: str, root: Path, records: int) -> float:
    """Wall seconds of one octoDNS plan (process start included, as for ours)."""
    config = build_zone(root, records)
    started = time.perf_counter()
    subprocess.run(
        [python, "-c", DRIVER, str(config)],
        cwd=root,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started
