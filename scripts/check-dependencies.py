#!/usr/bin/env python3
"""Keeps the module boundaries true by construction, from `swift package dump-package`:
- every module a target imports is a dependency it declares in Package.swift (no module leans on another's
  dependencies), and a module declares no project module it does not import;
- the dependency table of docs/ARCHITECTURE.md names, for each module, exactly its declared project modules.
Exit status 1 with one line per difference."""
import json, pathlib, re, subprocess, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Modules of the toolchain and the OS, which no Package.swift declares.
SYSTEM = {"Foundation", "FoundationXML", "FoundationNetworking", "Dispatch", "Glibc", "Darwin", "Musl",
          "Synchronization", "Testing", "XCTest"}
IMPORT = re.compile(r"^\s*(?:@\w+\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|typealias)\s+)?(\w+)", re.M)

package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, check=True,
                                    capture_output=True, text=True).stdout)
project = {t["name"] for t in package["targets"]}
problems = []
declared_internal = {}
for target in package["targets"]:
    name = target["name"]
    declared = set()
    for dependency in target.get("dependencies", []):
        kind, value = next(iter(dependency.items()))
        declared.add(value[0])
    declared_internal[name] = declared & project
    folder = ROOT / ("Tests" if target["type"] == "test" else "Sources") / (target.get("path") or name)
    sources = list(folder.rglob("*.swift"))
    if not sources:
        continue  # C and system library targets import nothing Swift
    imported = {m for f in sources for m in IMPORT.findall(f.read_text())} - SYSTEM - {name}
    for module in sorted(imported - declared):
        problems.append(f"{name} imports {module} but Package.swift does not declare it")
    if target["type"] != "test":  # test targets also declare the executable they run
        for module in sorted((declared & project) - imported):
            problems.append(f"{name} declares {module} but imports it nowhere")

# The table's rows: | `Module` | holds | depends on |
architecture = (ROOT / "docs/ARCHITECTURE.md").read_text()
rows = dict(re.findall(r"^\| `(\w+)` \|.*\| ([^|]*) \|$", architecture, re.M))
for target in package["targets"]:
    name = target["name"]
    if target["type"] == "test":
        continue
    if name not in rows:
        problems.append(f"docs/ARCHITECTURE.md has no row for module {name}")
        continue
    cell = rows[name].strip()
    listed = set() if cell == "—" else {
        n if n in project else "Shoal" + n for n in (part.strip() for part in cell.split(",")) if n}
    if listed != declared_internal[name]:
        problems.append(f"docs/ARCHITECTURE.md says {name} depends on {sorted(listed)}; "
                        f"Package.swift says {sorted(declared_internal[name])}")
for problem in problems:
    print(problem)
print(f"module boundaries: {len(package['targets'])} targets checked, {len(problems)} problems")
sys.exit(1 if problems else 0)
