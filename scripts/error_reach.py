#!/usr/bin/env python3
"""The error-variant reach table: every variant of every exported error enum, and the Kotlin and
Swift tests that reached it at run time.

    scripts/error_reach.py BINDINGS_SRC_DIR KOTLIN_TSV SWIFT_TSV

The variants are read from the `uniffi::Error` enums of bindings/src/*.rs (what Kotlin and Swift
see). Each TSV holds one line per reach, `Enum.Variant<TAB>test`, written by the tests
(tests/kotlin/.../ErrorReach.kt, tests/swift/.../ErrorReach.swift). Prints the table; exits 1 when
a variant is unreached from either language, or a recorded name is not a variant (a rename the
tests did not follow).
"""
import re
import sys
from pathlib import Path

ENUM = re.compile(r"uniffi::Error\)\]\s*pub enum (\w+) \{(.*?)\n\}", re.S)
VARIANT = re.compile(r"^    ([A-Z]\w*)\s*(?:\{|,)", re.M)


def variants(src_dir):
    found = []
    for path in sorted(Path(src_dir).glob("*.rs")):
        for enum in ENUM.finditer(path.read_text()):
            found += [f"{enum.group(1)}.{v}" for v in VARIANT.findall(enum.group(2))]
    return found


def reaches(tsv):
    seen = {}
    path = Path(tsv)
    if not path.is_file():
        return None
    for line in path.read_text().splitlines():
        variant, _, test = line.partition("\t")
        seen.setdefault(variant, []).append(test)
    return seen


def first(tests):
    if not tests:
        return "-"
    distinct = sorted(set(tests))
    more = f" (+{len(distinct) - 1})" if len(distinct) > 1 else ""
    return distinct[0] + more


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    known = variants(sys.argv[1])
    if not known:
        print(f"error: error-reach: no uniffi::Error enum in {sys.argv[1]}", file=sys.stderr)
        return 1
    status = 0
    by_language = {}
    for language, tsv in (("kotlin", sys.argv[2]), ("swift", sys.argv[3])):
        seen = reaches(tsv)
        if seen is None:
            print(f"error: error-reach: {tsv} not found; run scripts/test-{language}.sh first", file=sys.stderr)
            return 1
        by_language[language] = seen
        for name in sorted(set(seen) - set(known)):
            print(f"error: error-reach: {language} recorded {name}, which bindings/src does not export", file=sys.stderr)
            status = 1

    width = max(len(v) for v in known)
    kotlin_width = max([len(first(by_language["kotlin"].get(v))) for v in known] + [len("kotlin test")])
    print(f"{'variant':<{width}}  {'kotlin test':<{kotlin_width}}  swift test")
    missing = []
    for variant in known:
        kotlin = first(by_language["kotlin"].get(variant))
        swift = first(by_language["swift"].get(variant))
        print(f"{variant:<{width}}  {kotlin:<{kotlin_width}}  {swift}")
        for language, cell in (("kotlin", kotlin), ("swift", swift)):
            if cell == "-":
                missing.append(f"{variant} ({language})")
    if missing:
        print(f"error: error-reach: {len(missing)} unreached: " + ", ".join(missing), file=sys.stderr)
        return 1
    print(f"error-reach: all {len(known)} variants reached from Kotlin and Swift")
    return status


if __name__ == "__main__":
    sys.exit(main())
