#!/usr/bin/env python3
"""The public Rust API of a crate, from rustdoc's JSON output, one item per line.

Used by scripts/check-rust-api.sh to keep api/rust-core.api: our own small equivalent of
`cargo public-api` (no extra crate to build or trust). Every item reachable from the crate root
through public modules and re-exports is listed at each path it is reachable at, with its kind
and signature: functions and methods with parameter names and types, public struct fields, enum
variants with their fields, trait items, consts with their types, type aliases, and the trait
impls of public types (`impl core::convert::From<X> for Y`) and of our public traits (under the
trait when the type is not ours: `impl<F> KeyResolver for F where F: Fn..`). Left out, so that
the list changes only when the API does: auto-trait impls (Send, Sync, Unpin, ...), the blanket
impls rustdoc copies onto every type (`impl<T> From<T> for T`, `Any`, `Borrow`, ...), method
bodies, private items, docs, spans and rustdoc's ids. Types are written with full paths: ours
at the shortest path they are reachable at, other crates' at the path rustdoc reports (where
they are defined).

Each line starts with its kind: `pub mod`, `pub struct`, `pub struct field`, `pub enum`,
`pub enum variant`, `pub fn` (free functions and inherent methods), `pub const`, `pub type`,
`pub static`, `pub trait`, `pub trait fn` / `type` / `const` (trait items; `{ .. }` marks a
provided method), `impl` and `pub use` (another crate's item re-exported as it is).

Lines are sorted by the path of the item they belong to (an impl belongs to its type), then by
text, so that a type's line, its impls and its members stay together.

    rust_api_surface.py FILE.json

rustdoc's JSON format is unstable; FORMAT_VERSION is the version this script reads, and any
other version is refused rather than misread.
"""

import json
import sys

# The rustdoc JSON format this script was written for (nightly-2026-05-20, rustc 1.97.0-nightly
# e50aa6fba). A toolchain bump that changes it needs this script checked against the new
# format (rust-lang/rust src/rustdoc-json-types/lib.rs) and then this number changed.
FORMAT_VERSION = 57


# Traits a derive implements that no stable code can name: `#[derive(PartialEq)]` adds
# `StructuralPartialEq` next to `PartialEq`; listing it would only repeat that line.
UNNAMEABLE_TRAITS = {"core::marker::StructuralPartialEq"}

# Longest const value written out (see `shown`).
MAX_VALUE_CHARS = 80


class ApiError(Exception):
    """The JSON is not what this script understands."""


def one(tagged: dict) -> "tuple[str, object]":
    """The single (tag, value) of an externally tagged serde enum, `{"tag": value}`."""
    if not isinstance(tagged, dict) or len(tagged) != 1:
        raise ApiError(f"expected a one-key tagged value, found {json.dumps(tagged)[:200]}")
    return next(iter(tagged.items()))


class Surface:
    """One crate's JSON: walk it once for the paths, then render every item at each path."""

    def __init__(self, krate: dict):
        self.index = krate["index"]
        self.paths = krate["paths"]
        self.root = str(krate["root"])
        # id -> every path (tuple of names) the item is reachable at.
        self.reachable: "dict[str, set[tuple[str, ...]]]" = {}
        # (sort key, line)
        self.lines: "set[tuple[tuple, str]]" = set()
        # (id, path) already walked, against re-export cycles.
        self.walked: "set[tuple[str, tuple[str, ...]]]" = set()
        # (module id, path) already glob-imported at path.
        self.globbed: "set[tuple[str, tuple[str, ...]]]" = set()

    # ----- the walk ------------------------------------------------------------------------

    def item(self, item_id) -> "dict | None":
        return None if item_id is None else self.index.get(str(item_id))

    def collect(self, item_id: str, path: "tuple[str, ...]", inside: frozenset = frozenset()) -> None:
        """First pass: every path each item is reachable at (types need their paths before
        any signature can name them). `inside` holds the modules the walk is in: a module
        re-exported into itself (`pub use super::*` in a child) is reachable at endless paths
        (`a::b::b::b`); only the first is listed."""
        if (item_id, path) in self.walked or item_id in inside:
            return
        self.walked.add((item_id, path))
        self.reachable.setdefault(item_id, set()).add(path)
        kind, inner = one(self.index[item_id]["inner"])
        if kind == "module":
            self.collect_items(inner["items"], path, inside | {item_id})

    def collect_items(self, item_ids: list, path: "tuple[str, ...]", inside: frozenset) -> None:
        """The public items of a module (or of a module glob-imported into it) at `path`."""
        for child_id in item_ids:
            child = self.item(child_id)
            if child is None or child["visibility"] != "public":
                continue
            kind, inner = one(child["inner"])
            if kind != "use":
                self.collect(str(child_id), path + (child["name"],), inside)
                continue
            target = self.item(inner["id"])
            if target is None:
                # Another crate's item that rustdoc did not inline: listed as a re-export.
                summary = self.paths.get(str(inner["id"])) if inner["id"] is not None else None
                source = "::".join(summary["path"]) if summary else inner["source"]
                if inner["is_glob"]:
                    self.add(path, f"pub use {source}::*", order=2)
                else:
                    name = path + (inner["name"],)
                    self.add(name, f"pub use {'::'.join(name)} = {source}")
            elif not inner["is_glob"]:
                self.collect(str(inner["id"]), path + (inner["name"],), inside)
            elif one(target["inner"])[0] == "module":
                if (str(inner["id"]), path) not in self.globbed:
                    self.globbed.add((str(inner["id"]), path))
                    self.collect_items(one(target["inner"])[1]["items"], path, inside)
            else:
                raise ApiError(f"{'::'.join(path)}: glob re-export of a "
                               f"{one(target['inner'])[0]} ({inner['source']}::*) is not handled")

    def canonical(self, item_id) -> "tuple[str, ...] | None":
        paths = self.reachable.get(str(item_id))
        if not paths:
            return None
        return min(paths, key=lambda p: (len(p), p))

    def is_local(self, item_id) -> bool:
        summary = self.paths.get(str(item_id))
        if summary is not None:
            return summary["crate_id"] == 0
        item = self.item(item_id)
        return item is not None and item["crate_id"] == 0

    def add(self, path: "tuple[str, ...]", line: str, order: int = 0) -> None:
        if "\n" in line:
            raise ApiError(f"{'::'.join(path)}: a rendered line spans lines: {line[:200]!r}")
        self.lines.add(((path, order), line))

    def run(self) -> "list[str]":
        root_name = self.index[self.root]["name"]
        self.collect(self.root, (root_name,))
        for item_id, paths in self.reachable.items():
            for path in paths:
                self.emit(item_id, path)
        self.emit_trait_impls()
        return [line for _, line in sorted(self.lines)]

    # ----- items ---------------------------------------------------------------------------

    def emit(self, item_id: str, path: "tuple[str, ...]") -> None:
        item = self.index[item_id]
        kind, inner = one(item["inner"])
        name = "::".join(path)
        attrs = self.attrs(item)
        if kind == "module":
            self.add(path, f"{attrs}pub mod {name}")
        elif kind == "struct":
            generics = inner["generics"]
            shape_kind, shape = one(inner["kind"]) if isinstance(inner["kind"], dict) else (inner["kind"], None)
            head = f"{attrs}pub struct {name}{self.params(generics)}"
            where = self.where(generics)
            if shape_kind == "unit":
                self.add(path, f"{head}{where};")
            elif shape_kind == "tuple":
                self.add(path, f"{head}({self.tuple_fields(shape)}){where};")
            else:
                private = " { /* private fields */ }" if shape["has_stripped_fields"] else ""
                self.add(path, f"{head}{where}{private}")
                for field_id in shape["fields"]:
                    field = self.index[str(field_id)]
                    self.add(path + (field["name"],),
                             f"{self.attrs(field)}pub struct field {name}::{field['name']}: "
                             f"{self.ty(one(field['inner'])[1])}")
            self.inherent(inner["impls"], path)
        elif kind == "union":
            generics = inner["generics"]
            private = " { /* private fields */ }" if inner["has_stripped_fields"] else ""
            self.add(path, f"{attrs}pub union {name}{self.params(generics)}{self.where(generics)}{private}")
            for field_id in inner["fields"]:
                field = self.index[str(field_id)]
                self.add(path + (field["name"],),
                         f"pub union field {name}::{field['name']}: {self.ty(one(field['inner'])[1])}")
            self.inherent(inner["impls"], path)
        elif kind == "enum":
            generics = inner["generics"]
            hidden = " { /* hidden variants */ }" if inner["has_stripped_variants"] else ""
            self.add(path, f"{attrs}pub enum {name}{self.params(generics)}{self.where(generics)}{hidden}")
            for variant_id in inner["variants"]:
                variant = self.index[str(variant_id)]
                self.add(path + (variant["name"],),
                         f"{self.attrs(variant)}pub enum variant {name}::{variant['name']}"
                         f"{self.variant(one(variant['inner'])[1])}")
            self.inherent(inner["impls"], path)
        elif kind == "function":
            self.add(path, f"{attrs}pub {self.function(inner, name)}")
        elif kind == "trait":
            generics = inner["generics"]
            head = "pub unsafe trait" if inner["is_unsafe"] else "pub trait"
            if inner["is_auto"]:
                head = "pub auto trait" if not inner["is_unsafe"] else "pub unsafe auto trait"
            bounds = f": {self.bounds(inner['bounds'])}" if inner["bounds"] else ""
            dyn = "" if inner["is_dyn_compatible"] else " /* not dyn-compatible */"
            self.add(path, f"{attrs}{head} {name}{self.params(generics)}{bounds}{self.where(generics)}{dyn}")
            for member_id in inner["items"]:
                member = self.index[str(member_id)]
                self.add(path + (member["name"],), self.trait_member(member, name))
        elif kind == "constant":
            expr = inner["const"]["expr"]
            value = f" = {expr}" if inner["const"]["is_literal"] and shown(expr) else ""
            self.add(path, f"{attrs}pub const {name}: {self.ty(inner['type'])}{value}")
        elif kind == "static":
            mutable = "mut " if inner["is_mutable"] else ""
            unsafe = "unsafe " if inner.get("is_unsafe") else ""
            self.add(path, f"{attrs}pub {unsafe}static {mutable}{name}: {self.ty(inner['type'])}")
        elif kind == "type_alias":
            generics = inner["generics"]
            self.add(path, f"{attrs}pub type {name}{self.params(generics)}{self.where(generics)} = "
                           f"{self.ty(inner['type'])}")
        elif kind == "macro":
            self.add(path, f"{attrs}pub macro {name}!")
        elif kind == "proc_macro":
            self.add(path, f"{attrs}pub proc macro {name} ({inner['kind']})")
        elif kind == "trait_alias":
            generics = inner["generics"]
            self.add(path, f"{attrs}pub trait {name}{self.params(generics)} = "
                           f"{self.bounds(inner['params'])}{self.where(generics)}")
        elif kind == "extern_type":
            self.add(path, f"{attrs}pub extern type {name}")
        elif kind in ("primitive", "extern_crate"):
            pass
        else:
            raise ApiError(f"{name}: item kind {kind!r} is not handled")

    def attrs(self, item: dict) -> str:
        out = []
        if item.get("deprecation") is not None:
            out.append("#[deprecated] ")
        for attr in item["attrs"]:
            if attr == "non_exhaustive":
                out.append("#[non_exhaustive] ")
        return "".join(out)

    def tuple_fields(self, fields: list) -> str:
        out = []
        for field_id in fields:
            field = self.item(field_id)
            out.append("_" if field is None else f"pub {self.ty(one(field['inner'])[1])}")
        return ", ".join(out)

    def variant(self, inner: dict) -> str:
        shape = inner["kind"]
        discriminant = f" = {inner['discriminant']['expr']}" if inner.get("discriminant") else ""
        if shape == "plain":
            return discriminant
        shape_kind, fields = one(shape)
        if shape_kind == "tuple":
            out = []
            for field_id in fields:
                field = self.item(field_id)
                out.append("_" if field is None else self.ty(one(field["inner"])[1]))
            return f"({', '.join(out)}){discriminant}"
        out = []
        for field_id in fields["fields"]:
            field = self.index[str(field_id)]
            out.append(f"{field['name']}: {self.ty(one(field['inner'])[1])}")
        if fields["has_stripped_fields"]:
            out.append("/* private fields */")
        return f" {{ {', '.join(out)} }}{discriminant}"

    def trait_member(self, member: dict, trait_name: str) -> str:
        kind, inner = one(member["inner"])
        name = f"{trait_name}::{member['name']}"
        attrs = self.attrs(member)
        if kind == "function":
            provided = " { .. }" if inner["has_body"] else ""
            return f"{attrs}pub trait {self.function(inner, name)}{provided}"
        if kind == "assoc_type":
            generics = inner["generics"]
            bounds = f": {self.bounds(inner['bounds'])}" if inner["bounds"] else ""
            default = f" = {self.ty(inner['type'])}" if inner.get("type") is not None else ""
            return f"{attrs}pub trait type {name}{self.params(generics)}{bounds}{self.where(generics)}{default}"
        if kind == "assoc_const":
            default = f" = {inner['value']}" if inner.get("value") is not None else ""
            return f"{attrs}pub trait const {name}: {self.ty(inner['type'])}{default}"
        raise ApiError(f"{name}: trait item kind {kind!r} is not handled")

    def inherent(self, impl_ids: list, path: "tuple[str, ...]") -> None:
        """The public associated items of a type's inherent impls, at `path::name`."""
        for impl_id in impl_ids:
            impl = one(self.index[str(impl_id)]["inner"])[1]
            if impl["trait"] is not None or impl["is_synthetic"] or impl["blanket_impl"] is not None:
                continue
            # `Foo<'a, T>::method` names the impl's parameters; their bounds join the
            # method's where clause.
            owner = "::".join(path) + self.args_of(impl["for"])
            impl_bounds = self.param_bounds(impl["generics"]) + self.predicates(impl["generics"])
            for member_id in impl["items"]:
                member = self.index[str(member_id)]
                if member["visibility"] != "public":
                    continue
                kind, inner = one(member["inner"])
                name = f"{owner}::{member['name']}"
                attrs = self.attrs(member)
                impl_where = f" where {', '.join(impl_bounds)}" if impl_bounds else ""
                if kind == "function":
                    line = f"{attrs}pub {self.function(inner, name, impl_bounds)}"
                elif kind == "assoc_const":
                    line = f"{attrs}pub const {name}: {self.ty(inner['type'])}"
                    value = inner.get("value")
                    if value is not None and is_literal(value) and shown(value):
                        line += f" = {value}"
                    line += impl_where
                elif kind == "assoc_type":
                    line = f"{attrs}pub type {name} = {self.ty(inner['type'])}{impl_where}"
                else:
                    raise ApiError(f"{name}: inherent impl item kind {kind!r} is not handled")
                self.add(path + (member["name"],), line)

    def args_of(self, ty: dict) -> str:
        """`<'a>` of an impl's self type `Foo<'a>` (the owner of its methods), else ``."""
        kind, inner = one(ty)
        if kind == "resolved_path" and inner.get("args"):
            return self.generic_args(inner["args"])
        return ""

    def emit_trait_impls(self) -> None:
        """Trait impls of our public types, and our public traits' impls for other types."""
        for impl_id, item in self.index.items():
            if item["crate_id"] != 0:
                continue
            kind, impl = one(item["inner"])
            if kind != "impl" or impl["trait"] is None:
                continue
            if impl["is_synthetic"] or impl["blanket_impl"] is not None:
                continue  # auto traits and blanket impls
            if self.path_name(impl["trait"]) in UNNAMEABLE_TRAITS:
                continue
            mentioned = set()
            gather_ids(impl["for"], mentioned)
            gather_ids({"resolved_path": impl["trait"]}, mentioned)
            gather_ids(impl["generics"], mentioned)
            if any(self.is_local(i) and self.canonical(i) is None for i in mentioned) or any(
                    self.paths.get(str(i)) is None and self.item(i) is None for i in mentioned):
                continue  # involves a private item of ours
            self_kind, self_ty = one(impl["for"])
            subject = None
            if self_kind == "resolved_path" and self.is_local(self_ty["id"]):
                subject = self.canonical(self_ty["id"])
            if subject is None and self.is_local(impl["trait"]["id"]):
                subject = self.canonical(impl["trait"]["id"])
            if subject is None:
                subject = min((self.canonical(i) for i in mentioned if self.canonical(i)),
                              key=lambda p: (len(p), p), default=None)
            if subject is None:
                continue
            unsafe = "unsafe " if impl["is_unsafe"] else ""
            negative = "!" if impl["is_negative"] else ""
            line = (f"{unsafe}impl{self.params(impl['generics'])} {negative}{self.path(impl['trait'])} "
                    f"for {self.ty(impl['for'])}{self.where(impl['generics'])}")
            assoc = []
            for member_id in impl["items"]:
                member = self.index[str(member_id)]
                member_kind, member_inner = one(member["inner"])
                if member_kind == "assoc_type" and member_inner.get("type") is not None:
                    assoc.append(f"type {member['name']}{self.params(member_inner['generics'])} = "
                                 f"{self.ty(member_inner['type'])}")
                elif member_kind == "assoc_const":
                    assoc.append(f"const {member['name']}: {self.ty(member_inner['type'])}")
            if assoc:
                line += " { " + "; ".join(sorted(assoc)) + " }"
            self.add(subject, line, order=1)

    # ----- signatures ----------------------------------------------------------------------

    def function(self, inner: dict, name: str, outer_where: "list[str]" = ()) -> str:
        """`fn name<..>(params) -> output where ..`; `outer_where` adds the bounds of the impl
        the method is in."""
        header = inner["header"]
        quals = ""
        if header["is_const"]:
            quals += "const "
        if header["is_async"]:
            quals += "async "
        if header["is_unsafe"]:
            quals += "unsafe "
        quals += self.abi(header["abi"])
        sig = inner["sig"]
        generics = inner["generics"]
        inputs = ", ".join(self.parameter(param, ty) for param, ty in sig["inputs"])
        if sig["is_c_variadic"]:
            inputs += ", ..."
        output = f" -> {self.ty(sig['output'])}" if sig.get("output") is not None else ""
        where = self.predicates(generics) + list(outer_where)
        where_clause = f" where {', '.join(where)}" if where else ""
        return f"{quals}fn {name}{self.params(generics)}({inputs}){output}{where_clause}"

    def abi(self, abi) -> str:
        if abi == "Rust":
            return ""
        if isinstance(abi, str):
            return f'extern "{abi}" '
        kind, inner = one(abi)
        if kind == "other":
            return f"extern {inner} "
        unwind = "-unwind" if isinstance(inner, dict) and inner.get("unwind") else ""
        return f'extern "{kind}{unwind}" '

    def parameter(self, name: str, ty: dict) -> str:
        if name == "self":
            kind, inner = one(ty)
            if kind == "generic" and inner == "Self":
                return "self"
            if kind == "borrowed_ref" and one(inner["type"]) == ("generic", "Self"):
                lifetime = f"{inner['lifetime']} " if inner.get("lifetime") else ""
                mutable = "mut " if inner["is_mutable"] else ""
                return f"&{lifetime}{mutable}self"
        return f"{name}: {self.ty(ty)}"

    def params(self, generics: dict) -> str:
        """`<'a, T: Bound, const N: usize>`, without the synthetic `impl Trait` parameters."""
        out = []
        for param in generics["params"]:
            rendered = self.param(param)
            if rendered is not None:
                out.append(rendered)
        return f"<{', '.join(out)}>" if out else ""

    def param(self, param: dict) -> "str | None":
        kind, inner = one(param["kind"])
        name = param["name"]
        if kind == "lifetime":
            return f"{name}: {' + '.join(inner['outlives'])}" if inner["outlives"] else name
        if kind == "type":
            if inner["is_synthetic"]:
                return None
            bounds = f": {self.bounds(inner['bounds'])}" if inner["bounds"] else ""
            default = f" = {self.ty(inner['default'])}" if inner.get("default") is not None else ""
            return f"{name}{bounds}{default}"
        if kind == "const":
            default = f" = {inner['default']}" if inner.get("default") is not None else ""
            return f"const {name}: {self.ty(inner['type'])}{default}"
        raise ApiError(f"generic parameter kind {kind!r} is not handled")

    def hrtb(self, generic_params: list) -> str:
        out = [p for p in (self.param(param) for param in generic_params) if p is not None]
        return f"for<{', '.join(out)}> " if out else ""

    def param_bounds(self, generics: dict) -> "list[str]":
        """The bounds written on parameters (`T: Copy`, `'a: 'b`) as where predicates."""
        out = []
        for param in generics["params"]:
            kind, inner = one(param["kind"])
            if kind == "lifetime" and inner["outlives"]:
                out.append(f"{param['name']}: {' + '.join(inner['outlives'])}")
            elif kind == "type" and inner["bounds"] and not inner["is_synthetic"]:
                out.append(f"{param['name']}: {self.bounds(inner['bounds'])}")
        return out

    def where(self, generics: dict) -> str:
        out = self.predicates(generics)
        return f" where {', '.join(out)}" if out else ""

    def predicates(self, generics: dict) -> "list[str]":
        out = []
        for predicate in generics["where_predicates"]:
            kind, inner = one(predicate)
            if kind == "bound_predicate":
                out.append(f"{self.hrtb(inner['generic_params'])}{self.ty(inner['type'])}: "
                           f"{self.bounds(inner['bounds'])}")
            elif kind == "lifetime_predicate":
                out.append(f"{inner['lifetime']}: {' + '.join(inner['outlives'])}")
            elif kind == "eq_predicate":
                out.append(f"{self.ty(inner['lhs'])} = {self.term(inner['rhs'])}")
            else:
                raise ApiError(f"where predicate kind {kind!r} is not handled")
        return out

    def bounds(self, bounds: list) -> str:
        return " + ".join(self.bound(bound) for bound in bounds)

    def bound(self, bound: dict) -> str:
        kind, inner = one(bound)
        if kind == "trait_bound":
            modifier = {"none": "", "maybe": "?", "maybe_const": "[const] "}.get(inner["modifier"])
            if modifier is None:
                raise ApiError(f"trait bound modifier {inner['modifier']!r} is not handled")
            return f"{self.hrtb(inner['generic_params'])}{modifier}{self.path(inner['trait'])}"
        if kind == "outlives":
            return inner
        if kind == "use":
            captured = []
            for arg in inner:
                if isinstance(arg, str):
                    captured.append(arg)
                else:
                    captured.append(one(arg)[1])
            return f"use<{', '.join(captured)}>"
        raise ApiError(f"bound kind {kind!r} is not handled")

    def path(self, path: dict) -> str:
        """A path to an item with its generic arguments."""
        return self.path_name(path) + (self.generic_args(path["args"]) if path.get("args") else "")

    def path_name(self, path: dict) -> str:
        """Ours at their shortest public path, other crates' at the path rustdoc names."""
        item_id = path.get("id")
        if item_id is not None:
            canonical = self.canonical(item_id)
            if canonical is not None:
                return "::".join(canonical)
            summary = self.paths.get(str(item_id))
            if summary is not None:
                return "::".join(summary["path"])
        return path["path"]

    def generic_args(self, args: dict) -> str:
        kind, inner = one(args) if isinstance(args, dict) else (args, None)
        if kind == "angle_bracketed":
            out = [self.generic_arg(arg) for arg in inner["args"]]
            out += [self.constraint(c) for c in inner["constraints"]]
            return f"<{', '.join(out)}>" if out else ""
        if kind == "parenthesized":
            inputs = ", ".join(self.ty(t) for t in inner["inputs"])
            output = f" -> {self.ty(inner['output'])}" if inner.get("output") is not None else ""
            return f"({inputs}){output}"
        if kind == "return_type_notation":
            return "(..)"
        raise ApiError(f"generic args kind {kind!r} is not handled")

    def generic_arg(self, arg) -> str:
        if arg == "infer":
            return "_"
        kind, inner = one(arg)
        if kind == "lifetime":
            return inner
        if kind == "type":
            return self.ty(inner)
        if kind == "const":
            return inner["expr"]
        raise ApiError(f"generic arg kind {kind!r} is not handled")

    def constraint(self, constraint: dict) -> str:
        name = constraint["name"]
        if constraint.get("args"):
            name += self.generic_args(constraint["args"])
        kind, inner = one(constraint["binding"])
        if kind == "equality":
            return f"{name} = {self.term(inner)}"
        if kind == "constraint":
            return f"{name}: {self.bounds(inner)}"
        raise ApiError(f"constraint kind {kind!r} is not handled")

    def term(self, term: dict) -> str:
        kind, inner = one(term)
        if kind == "type":
            return self.ty(inner)
        if kind == "constant":
            return inner["expr"]
        raise ApiError(f"term kind {kind!r} is not handled")

    def ty(self, ty) -> str:
        """A type from rustdoc's `Type` enum, written as Rust."""
        if ty == "infer":
            return "_"
        kind, inner = one(ty)
        if kind == "resolved_path":
            return self.path(inner)
        if kind in ("primitive", "generic"):
            return inner
        if kind == "borrowed_ref":
            lifetime = f"{inner['lifetime']} " if inner.get("lifetime") else ""
            mutable = "mut " if inner["is_mutable"] else ""
            return f"&{lifetime}{mutable}{self.ty(inner['type'])}"
        if kind == "raw_pointer":
            return f"*{'mut' if inner['is_mutable'] else 'const'} {self.ty(inner['type'])}"
        if kind == "tuple":
            if len(inner) == 1:
                return f"({self.ty(inner[0])},)"
            return f"({', '.join(self.ty(t) for t in inner)})"
        if kind == "slice":
            return f"[{self.ty(inner)}]"
        if kind == "array":
            return f"[{self.ty(inner['type'])}; {inner['len']}]"
        if kind == "impl_trait":
            return f"impl {self.bounds(inner)}"
        if kind == "dyn_trait":
            parts = [f"{self.hrtb(poly['generic_params'])}{self.path(poly['trait'])}"
                     for poly in inner["traits"]]
            if inner.get("lifetime"):
                parts.append(inner["lifetime"])
            return f"dyn {' + '.join(parts)}"
        if kind == "qualified_path":
            args = self.generic_args(inner["args"]) if inner.get("args") else ""
            self_type = self.ty(inner["self_type"])
            if inner.get("trait") is None:
                return f"{self_type}::{inner['name']}{args}"
            return f"<{self_type} as {self.path(inner['trait'])}>::{inner['name']}{args}"
        if kind == "function_pointer":
            header = inner["header"]
            quals = ("unsafe " if header["is_unsafe"] else "") + self.abi(header["abi"])
            sig = inner["sig"]
            inputs = ", ".join(self.ty(t) if n in ("", "_") else f"{n}: {self.ty(t)}"
                               for n, t in sig["inputs"])
            if sig["is_c_variadic"]:
                inputs += ", ..."
            output = f" -> {self.ty(sig['output'])}" if sig.get("output") is not None else ""
            return f"{self.hrtb(inner['generic_params'])}{quals}fn({inputs}){output}"
        if kind == "pat":
            return f"{self.ty(inner['type'])} is _"
        raise ApiError(f"type kind {kind!r} is not handled")


def gather_ids(value, out: set) -> None:
    """Every item id a type (or generics) mentions through a path."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("resolved_path", "trait") and isinstance(inner, dict) and "id" in inner:
                if inner["id"] is not None:
                    out.add(inner["id"])
            gather_ids(inner, out)
    elif isinstance(value, list):
        for inner in value:
            gather_ids(inner, out)


def is_literal(value: str) -> bool:
    """A number, string, char or bool literal (an associated const's value worth showing)."""
    value = value.strip()
    if value in ("true", "false"):
        return True
    if value[:1] in ('"', "'"):
        return True
    return value[:1].isdigit() or (value[:1] == "-" and value[1:2].isdigit())


def shown(value: str) -> bool:
    """Whether a const's literal value goes into its line: short one-line values (numbers,
    names, limits) do; long text (the vault's SQL schema) is data rather than a signature, and
    its changes are the on-disk format's business (docs/FORMAT.md), not the API's."""
    return "\n" not in value and len(value) <= MAX_VALUE_CHARS


def main(argv: "list[str]") -> int:
    if len(argv) != 2:
        print("usage: rust_api_surface.py FILE.json", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as file:
            krate = json.load(file)
    except (OSError, ValueError) as error:
        print(f"error: rust_api_surface: cannot read {argv[1]}: {error}", file=sys.stderr)
        return 1
    version = krate.get("format_version")
    if version != FORMAT_VERSION:
        print(f"error: rust_api_surface: {argv[1]} is rustdoc JSON format {version}, this script "
              f"reads format {FORMAT_VERSION}; check the script against the new format "
              "(rust-lang/rust src/rustdoc-json-types/lib.rs) and update FORMAT_VERSION, or use "
              "the toolchain pinned in scripts/check-rust-api.sh", file=sys.stderr)
        return 1
    try:
        lines = Surface(krate).run()
    except (ApiError, KeyError, TypeError, ValueError, RecursionError) as error:
        print(f"error: rust_api_surface: {argv[1]}: unexpected rustdoc JSON ({type(error).__name__}: "
              f"{error})", file=sys.stderr)
        return 1
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
