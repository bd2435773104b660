#!/usr/bin/env python3
"""The public surface of the generated Kotlin or Swift bindings, one declaration per line.

Used by scripts/check-api.sh to keep api/kotlin.api and api/swift.api: what an app developer
can call, without UniFFI's plumbing (converters, buffers, call status, handles), without the
test-only exports of feature `ffi-testing`, and without bodies or doc comments, so a diff of
the snapshot is a diff of the API.

    api_surface.py kotlin|swift FILE                  the surface, sorted
    api_surface.py --undocumented kotlin|swift FILE   our declarations without a doc comment
"""

import re
import sys

# UniFFI's own names, not our API.
PLUMBING = re.compile(
    r"(FfiConverter|Uniffi|uniffi|RustBuffer|ForeignBytes|RustCallStatus|UniFfi|NoPointer|"
    r"InternalException|ErrorHandler|Disposable\b|FfiType|FfiHandle|ForeignFuture|"
    r"RustFuture|ContinuationHolder|Cleaner|Callback[A-Z]\w*VTable|UNIFFI_|ffi_rukasec|"
    r"uniffiRust|lift|lower\b|NSLock|NoHandle)"
)
TEST_ONLY = re.compile(r"\b(Test\w+|ffiTesting\w*|ffi_testing\w*)")


DOC = "__DOC__"


def strip_comments(text: str) -> str:
    """Comments removed, line numbers kept; each doc comment leaves a `__DOC__` line."""
    def blank(match: re.Match, marker: str = "") -> str:
        return marker + "\n" * match.group(0).count("\n")

    text = re.sub(r"/\*\*.*?\*/", lambda m: blank(m, DOC), text, flags=re.S)
    text = re.sub(r"/\*.*?\*/", blank, text, flags=re.S)
    text = re.sub(r"^[ \t]*///[^\n]*", DOC, text, flags=re.M)
    return re.sub(r"//[^\n]*", "", text)


def documented(lines: list[str], number: int) -> bool:
    """Whether the declaration at `number` follows a doc comment (attributes in between)."""
    for line in reversed(lines[:number]):
        stripped = line.strip()
        if not stripped or stripped.startswith(("@", "#if", "#endif")):
            continue
        return stripped == DOC
    return False


# Declarations UniFFI writes itself, with no Rust item to carry a doc comment.
GENERATED = re.compile(
    r"(companion object|constructor\(noHandle|fun close\(\)|fun destroy\(\)|"
    r"var (debugDescription|description): String|override fun toString|"
    r"public required init|init\(unsafeFromHandle|init\(noHandle|: public init\(|"
    r"class \w+Impl\b|Impl: |: override |: open func |: @Throws\(\w+::class\)override |"
    r": override suspend |: public static func == |: public func hash|"
    r"extension |: public var errorDescription|: public var localizedDescription|"
    r"Exception: override val message|Error: case |var `?reason`?)"
)


def normalise(declaration: str) -> str:
    declaration = re.sub(r"\s+", " ", declaration.replace(DOC, " ")).strip()
    declaration = re.sub(r"\s*\{$", "", declaration)
    return declaration.replace("( ", "(").replace(" )", ")").replace(" ,", ",")


def continue_header(header: str, line: str, start: int, out: list) -> "str | None":
    """Adds `line` to a declaration spanning lines; once its parentheses close, records it
    (as of line `start`) in `out` and returns None, else returns the declaration so far."""
    header += " " + line
    if header.count("(") != header.count(")"):
        return header
    out.append((start, normalise(header[: header.rindex(")") + 1])))
    return None


def depth_scan(text: str):
    """Yields (line, brace depth at its start, paren depth at its start, line index)."""
    braces = parens = 0
    for number, line in enumerate(text.split("\n")):
        yield line, braces, parens, number
        # Strings in generated code are short and balanced; count outside them.
        code = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
        braces += code.count("{") - code.count("}")
        parens += code.count("(") - code.count(")")


def kotlin(text: str) -> list[str]:
    out, owner, skip, kind = [], None, False, None
    header, start = None, 0  # a top-level declaration spanning lines (data class fields)
    for line, braces, parens, number in depth_scan(text):
        stripped = line.strip()
        if not stripped:
            continue
        if braces == 0 and parens == 0:
            if header is not None:
                out.append((start, normalise(header)))
                header = None
            match = re.match(
                r"^(?:@\w+(?:\([^)]*\))?\s*)*"
                r"(?:(public|internal|private|open|sealed|data|enum|abstract|annotation)\s+)*"
                r"(class|interface|object|fun|val|var|typealias)\s+`?(\w+)",
                stripped,
            )
            if not match:
                continue
            owner, kind = match.group(3), match.group(2)
            skip = bool(
                re.match(r"^(?:@\w+(?:\([^)]*\))?\s*)*(internal|private)\b", stripped)
                or PLUMBING.search(owner)
                or TEST_ONLY.search(owner)
            )
            if skip:
                continue
            declaration = stripped.split("{")[0]
            if declaration.count("(") > declaration.count(")"):
                header, start = declaration, number
            else:
                out.append((number, normalise(declaration)))
            continue
        if skip:
            continue
        if header is not None:
            header = continue_header(header, stripped, start, out)
            continue
        # Members of a kept top-level type: one level deep (and nested exception classes).
        if braces != 1 and not (braces == 2 and kind == "class" and owner.endswith("Exception")):
            continue
        if re.match(r"^(internal|private|protected)\b", stripped) or PLUMBING.search(stripped):
            continue
        if TEST_ONLY.search(stripped):
            continue
        member = re.match(
            r"^(?:@\w+(?:\([^)]*\))?\s*)*"
            r"(?:(?:public|open|override|suspend|abstract|data|operator|companion)\s+)*"
            r"(fun|val|var|class|object|constructor)\b",
            stripped,
        )
        entry = re.match(r"^([A-Z][A-Z0-9_]*)[,;]?$", stripped)
        if member or (entry and kind == "class"):
            out.append((number, f"{owner}: " + normalise(stripped.split("{")[0].split(" = ")[0])))
    return out


def swift(text: str) -> list[str]:
    out, owner, skip = [], None, False
    header, start = None, 0  # a member declaration spanning lines (an init's parameters)
    modifier = None  # `public` alone on its line (the generated error enums): (word, line number)
    for line, braces, parens, number in depth_scan(text):
        stripped = line.strip()
        if not stripped:
            continue
        if braces == 0 and not parens and stripped in ("public", "open"):
            modifier = (stripped, number)
            continue
        if modifier is not None:
            stripped, number = f"{modifier[0]} {stripped}", modifier[1]
            modifier = None
        if header is not None:
            header = continue_header(header, stripped, start, out)
            continue
        if parens:
            continue
        if braces == 0:
            match = re.match(
                r"^(?:(public|open|fileprivate|private|internal|final)\s+)*"
                r"(class|struct|enum|protocol|extension|func|let|var|typealias)\s+(\w+)",
                stripped,
            )
            if not match:
                continue
            owner = match.group(3)
            public = re.match(r"^(public|open)\b", stripped) or match.group(2) == "extension"
            skip = not public or bool(PLUMBING.search(owner) or TEST_ONLY.search(owner))
            if not skip and match.group(2) != "extension":
                out.append((number, normalise(stripped.split("{")[0])))
            continue
        if skip or braces != 1:
            continue
        if PLUMBING.search(stripped) or TEST_ONLY.search(stripped):
            continue
        if re.match(r"^(public|open)\s", stripped) or re.match(r"^case\s", stripped) or (
            re.match(r"^(func|var|init)\b", stripped)
        ):
            declaration = f"{owner}: " + stripped.split("{")[0]
            if declaration.count("(") > declaration.count(")"):
                header, start = declaration, number
            else:
                out.append((number, normalise(declaration)))
    return out


def main() -> None:
    args = sys.argv[1:]
    undocumented = args[:1] == ["--undocumented"]
    if undocumented:
        args = args[1:]
    if len(args) != 2 or args[0] not in ("kotlin", "swift"):
        sys.exit("usage: api_surface.py [--undocumented] kotlin|swift FILE")
    text = strip_comments(open(args[1], encoding="utf-8").read())
    found = kotlin(text) if args[0] == "kotlin" else swift(text)
    if undocumented:
        # Our declarations without the doc comment their Rust item carries.
        lines = text.split("\n")
        missing = [
            declaration
            for number, declaration in found
            if not documented(lines, number) and not GENERATED.search(declaration)
        ]
        for declaration in sorted(set(missing)):
            print(declaration)
        return
    # Sorted: the snapshot follows the API, not the generator's order.
    for declaration in sorted({declaration for _, declaration in found}):
        print(declaration)


if __name__ == "__main__":
    main()
