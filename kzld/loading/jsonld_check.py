"""What JSON-LD processing would drop without a word: checked before a JSON-LD file loads."""

from __future__ import annotations

import re

import pyoxigraph as ox

_KEYWORDS = frozenset(
    "@context @id @type @graph @value @language @list @set @reverse @index @base @vocab "
    "@nest @included @json @direction @version @protected @import @propagate @prefix "
    "@container @none".split()
)
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")


class Dropped(ValueError):
    """A term JSON-LD processing would silently drop; ``needle`` locates it in the text."""

    def __init__(self, message: str, where: str, needle: str):
        super().__init__(f"{message} (at {where or 'the top'}): JSON-LD would drop it")
        self.needle = needle


def check_dropped(document: object) -> None:
    """Raise Dropped for the first key, IRI or language tag that JSON-LD expansion would
    silently drop: an undefined term, an invalid @id, property or @type IRI, a bad
    language tag, an unknown keyword, a null value."""
    try:
        _check(document)
    except _RemoteContext:
        return


def _check(document: object) -> None:
    # The walk keeps its own stack: a document nested to any depth is checked.
    stack: list[tuple[object, dict[str, object], str]] = [(document, {}, "")]
    while stack:
        node, context, where = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                stack.append((item, context, f"{where}[{i}]"))
            continue
        if not isinstance(node, dict):
            continue
        if "@context" in node:
            context = _with_context(context, node["@context"], where)
        for key, value in node.items():
            here = f"{where}.{key}" if where else key
            if key.startswith("@"):
                _check_keyword(key, value, context, here)
                if key in ("@graph", "@list", "@set", "@included", "@reverse"):
                    stack.append((value, context, here))
                continue
            iri = _expand_term(key, context, vocab=True)
            if iri is None:
                raise Dropped(f"term {key!r} is not defined in the @context", here, f'"{key}"')
            if not _is_iri(iri) and not iri.startswith("_:"):
                raise Dropped(f"property {key!r} is not a valid IRI ({iri})", here, f'"{key}"')
            if value is None:
                raise Dropped(f"property {key!r} has the value null", here, f'"{key}"')
            definition = context.get(key)
            if isinstance(definition, dict) and definition.get("@type") == "@id":
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        _check_reference(item, context, here)
            stack.append((value, context, here))


def _with_context(context: dict, given: object, where: str) -> dict:
    merged = dict(context)
    for item in given if isinstance(given, list) else [given]:
        if item is None:
            merged = {}
        elif isinstance(item, dict):
            merged.update(item)
        else:  # a remote context: the parser refuses it, with its own error
            raise _RemoteContext
    return merged


class _RemoteContext(Exception):
    pass


def _check_keyword(key: str, value: object, context: dict, where: str) -> None:
    if key not in _KEYWORDS:
        raise Dropped(f"{key!r} is not a JSON-LD keyword", where, f'"{key}"')
    if key == "@id" and isinstance(value, str):
        _check_reference(value, context, where)
    elif key == "@type":
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item not in ("@id", "@json", "@vocab"):
                iri = _expand_term(item, context, vocab=True)
                if iri is None or not (_is_iri(iri) or iri.startswith("_:")):
                    raise Dropped(f"@type {item!r} is not a valid IRI", where, f'"{item}"')
    elif key == "@language" and value is not None:
        if not isinstance(value, str) or not _LANGUAGE.fullmatch(value):
            raise Dropped(f"language tag {value!r} is not well-formed", where, f'"{value}"')


def _check_reference(value: str, context: dict, where: str) -> None:
    if value.startswith("_:"):
        return
    iri = _expand_term(value, context, vocab=False)
    base = context.get("@base")
    if iri is not None and not _has_scheme(iri) and isinstance(base, str):
        iri = base + iri  # enough to check the characters; the parser resolves it properly
    if iri is None or (_has_scheme(iri) and not _is_iri(iri)) or " " in value:
        raise Dropped(f"@id {value!r} is not a valid IRI", where, f'"{value}"')


def _expand_term(term: str, context: dict, vocab: bool) -> str | None:
    """The IRI a term, compact IRI or IRI stands for in this context; None if undefined."""
    definition = context.get(term, ...)
    if definition is None:
        return None  # mapped to null on purpose: still dropped
    if isinstance(definition, str):
        return _expand_term(definition, context, vocab) if definition != term else definition
    if isinstance(definition, dict):
        target = definition.get("@id", ...)
        if target is None:
            return None
        if isinstance(target, str):
            return target if target == term else _expand_term(target, context, vocab)
    prefix, colon, suffix = term.partition(":")
    if colon:
        if prefix == "_":
            return term
        mapped = context.get(prefix)
        if isinstance(mapped, dict):
            mapped = mapped.get("@id")
        if isinstance(mapped, str) and not suffix.startswith("//"):
            return mapped + suffix
        return term  # an absolute IRI
    if vocab and isinstance(context.get("@vocab"), str):
        return context["@vocab"] + term
    return None if vocab else term  # a relative @id: resolved against the base


def _has_scheme(iri: str) -> bool:
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", iri) is not None


def _is_iri(iri: str) -> bool:
    try:
        ox.NamedNode(iri)
    except ValueError:
        return False
    return _has_scheme(iri)
