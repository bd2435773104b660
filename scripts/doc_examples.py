#!/usr/bin/env python3
"""Turn the Kotlin and Swift examples of docs/INTEGRATION.md into test sources.

    scripts/doc_examples.py check  [DOC]             every fence of DOC has a known marker
    scripts/doc_examples.py kotlin [DOC] OUT.kt      JUnit 5 tests, one per ```kotlin block
    scripts/doc_examples.py swift  [DOC] OUT.swift   XCTest tests, one per ```swift block

DOC defaults to docs/INTEGRATION.md (paths are relative to the git root, where the test scripts
run this). The output is build output: test-kotlin.sh writes it under tests/kotlin/target/,
test-swift.sh into a git-ignored file of the Swift test target. OUT is rewritten only when its
content changes, so SwiftPM's incremental build keeps what it compiled.

The convention (also stated at the top of docs/INTEGRATION.md). Every fence's info string must be
one of MARKERS; anything else, a fence without one included, fails, so no example can drop out of
the tests unnoticed:

  ```kotlin / ```swift       an example: the body of one test method of a class that extends the
                             committed fixture (Kotlin `IntegrationFixture`, Swift
                             `IntegrationFixture`), so it can use the fixture's app context
                             (`filesDir`, `keyWrapper`, `environment`, ...). Kotlin bodies run in
                             a coroutine (`runBlocking`), Swift bodies in `async throws`.
  ```kotlin declarations     top-level declarations (classes, functions) shared by every example
  ```swift declarations      of the file, compiled once.
  ```kotlin ignore           not compiled: needs the Android SDK or Apple frameworks; the text
  ```swift ignore            around it must say so.
  ```rust, ```rust,no_run    Rust doctests (rustdoc compiles them: core/src/lib.rs includes the
                             file); not handled here.
  ```text                    output, formats, diagrams.

`import` lines at the start of a Kotlin or Swift block are moved to the top of the generated file.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import tempfile

DEFAULT_DOC = "docs/INTEGRATION.md"

# info string -> (language, role); role: "example", "declarations", "ignore", "external"
MARKERS = {
    "kotlin": ("kotlin", "example"),
    "kotlin declarations": ("kotlin", "declarations"),
    "kotlin ignore": ("kotlin", "ignore"),
    "swift": ("swift", "example"),
    "swift declarations": ("swift", "declarations"),
    "swift ignore": ("swift", "ignore"),
    "rust": ("rust", "external"),
    "rust,no_run": ("rust", "external"),
    "text": ("text", "external"),
}

FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
IMPORT = re.compile(r"^import\s+\S")


class DocError(Exception):
    """A problem with the document, reported as `DOC:LINE: message`."""


@dataclasses.dataclass
class Block:
    language: str
    role: str
    line: int  # 1-based line of the first code line
    heading: str  # the nearest heading above the fence
    code: list[str]


def parse(doc: str, text: str) -> list[Block]:
    """Every fenced block of `text`, checked against MARKERS."""
    blocks: list[Block] = []
    heading = ""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if not fence:
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            i += 1
            continue
        indent, ticks, info = fence.group(1), fence.group(2), fence.group(3).strip()
        if ticks.startswith("~"):
            raise DocError(f"{doc}:{i + 1}: use ``` fences, not ~~~")
        if info not in MARKERS:
            known = ", ".join(f"```{m}" for m in MARKERS)
            shown = f"```{info}" if info else "``` without a language"
            raise DocError(f"{doc}:{i + 1}: unknown fence marker {shown}; use one of {known}")
        language, role = MARKERS[info]
        start = i + 1
        code: list[str] = []
        i += 1
        while True:
            if i >= len(lines):
                raise DocError(f"{doc}:{start}: the ```{info} fence is never closed")
            closing = FENCE.match(lines[i])
            if closing and closing.group(2).startswith(ticks[0]) and len(closing.group(2)) >= len(ticks) \
                    and not closing.group(3).strip():
                break
            body = lines[i]
            # Inside an indented fence (a list item), drop the fence's indentation.
            code.append(body[len(indent):] if body.startswith(indent) else body.lstrip(" "))
            i += 1
        i += 1
        if not any(c.strip() for c in code):
            raise DocError(f"{doc}:{start}: an empty ```{info} block")
        blocks.append(Block(language, role, start + 1, heading, code))
    return blocks


def split_imports(block: Block, doc: str) -> tuple[list[str], list[str]]:
    """The block's leading `import` lines, and the rest (imports further down are refused)."""
    imports: list[str] = []
    rest = list(block.code)
    while rest and (IMPORT.match(rest[0]) or not rest[0].strip()):
        line = rest.pop(0)
        if line.strip():
            imports.append(line.strip())
    for offset, line in enumerate(rest):
        if IMPORT.match(line):
            raise DocError(f"{doc}:{block.line + len(block.code) - len(rest) + offset}: "
                           "an import after code: put it at the start of the block")
    return imports, rest


def slug(heading: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", heading)
    return "".join(w[:1].upper() + w[1:] for w in words)[:60] or "Example"


def indent(lines: list[str], prefix: str) -> list[str]:
    return [prefix + line if line.strip() else "" for line in lines]


HEADER = "Generated by scripts/doc_examples.py from {doc}: do not edit, never commit."

KOTLIN_IMPORTS = [
    "import com.rukapay.rukasec.*",
    "import org.junit.jupiter.api.DisplayName",
    "import org.junit.jupiter.api.Test",
]


def kotlin(doc: str, blocks: list[Block]) -> str:
    imports = list(KOTLIN_IMPORTS)
    declarations: list[str] = []
    tests: list[str] = []
    number = 0
    for block in blocks:
        if block.language != "kotlin" or block.role == "ignore":
            continue
        own_imports, code = split_imports(block, doc)
        imports += [i for i in own_imports if i not in imports]
        where = f"{doc}:{block.line}"
        if block.role == "declarations":
            declarations += [f"// {where} ({block.heading})", *code, ""]
            continue
        number += 1
        name = f"example{number:02d}{slug(block.heading)}"
        tests += [
            f"    // {where} ({block.heading})",
            "    @Test",
            f"    @DisplayName({kotlin_string(f'{where} {block.heading}')})",
            f"    fun {name}(): Unit = runExample {{",
            *indent(code, "        "),
            "    }",
            "",
        ]
    if number == 0:
        raise DocError(f"{doc}: no ```kotlin example to test")
    out = [
        f"// {HEADER.format(doc=doc)}",
        "// Each ```kotlin block is the body of one test; `IntegrationFixture` gives it the app context.",
        '@file:Suppress("UNUSED_VARIABLE", "UNUSED_PARAMETER", "UNUSED_ANONYMOUS_PARAMETER", "unused")',
        "",
        "package com.rukapay.rukasec.docs",
        "",
        *imports,
        "",
        *declarations,
        "class IntegrationExamplesTest : IntegrationFixture() {",
        *tests,
        "}",
        "",
    ]
    return "\n".join(out)


def kotlin_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


SWIFT_IMPORTS = [
    "import Foundation",
    # URLRequest and URLSession live in FoundationNetworking on Linux (in Foundation on Apple).
    "#if canImport(FoundationNetworking)",
    "import FoundationNetworking",
    "#endif",
    "import XCTest",
    "import RukaSec",
]


def swift(doc: str, blocks: list[Block]) -> str:
    imports = list(SWIFT_IMPORTS)
    declarations: list[str] = []
    tests: list[str] = []
    number = 0
    for block in blocks:
        if block.language != "swift" or block.role == "ignore":
            continue
        own_imports, code = split_imports(block, doc)
        imports += [i for i in own_imports if i not in imports]
        first = block.line + len(block.code) - len(code)
        # Compiler errors and XCTest failures point at the document's lines.
        location = f'#sourceLocation(file: "{doc}", line: {first})'
        if block.role == "declarations":
            declarations += [f"// {doc}:{block.line} ({block.heading})", location, *code, "#sourceLocation()", ""]
            continue
        number += 1
        tests += [
            f"    // {doc}:{block.line} ({block.heading})",
            f"    func testExample{number:02d}{slug(block.heading)}() async throws {{",
            location,
            *indent(code, "        "),
            "#sourceLocation()",
            "    }",
            "",
        ]
    if number == 0:
        raise DocError(f"{doc}: no ```swift example to test")
    out = [
        f"// {HEADER.format(doc=doc)}",
        "// Each ```swift block is the body of one test; `IntegrationFixture` gives it the app context.",
        "",
        *imports,
        "",
        *declarations,
        "final class IntegrationExamples: IntegrationFixture {",
        *tests,
        "}",
        "",
    ]
    return "\n".join(out)


def write_if_changed(path: str, content: str) -> bool:
    try:
        with open(path, encoding="utf-8") as existing:
            if existing.read() == content:
                return False
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, staging = tempfile.mkstemp(dir=directory, prefix=".doc_examples.")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(content)
    os.replace(staging, path)
    return True


def main(argv: list[str]) -> int:
    usage = "usage: scripts/doc_examples.py check [DOC] | kotlin [DOC] OUT.kt | swift [DOC] OUT.swift"
    if not argv or argv[0] not in ("check", "kotlin", "swift"):
        print(usage, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    if command == "check":
        if len(args) > 1:
            print(usage, file=sys.stderr)
            return 2
        doc, out = (args[0] if args else DEFAULT_DOC), None
    else:
        if len(args) not in (1, 2):
            print(usage, file=sys.stderr)
            return 2
        doc, out = (args[0], args[1]) if len(args) == 2 else (DEFAULT_DOC, args[0])
    try:
        with open(doc, encoding="utf-8") as source:
            blocks = parse(doc, source.read())
        if command == "check":
            counts: dict[str, int] = {}
            for block in blocks:
                key = f"{block.language} {block.role}"
                counts[key] = counts.get(key, 0) + 1
            print(f"doc_examples: {doc}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
                  file=sys.stderr)
            return 0
        content = kotlin(doc, blocks) if command == "kotlin" else swift(doc, blocks)
    except DocError as error:
        print(f"error: doc_examples: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: doc_examples: {error}", file=sys.stderr)
        return 1
    examples = sum(1 for b in blocks if b.language == command and b.role == "example")
    changed = write_if_changed(out, content)
    print(f"doc_examples: {examples} {command} examples from {doc} -> {out}"
          f"{'' if changed else ' (unchanged)'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
