"""JSON merge patch (RFC 7396), the language staff edit persisted state in.

Pure functions, no database. ``merge_patch_apply`` is the RFC's algorithm: an object in
the patch merges into the target's object, ``null`` removes a member, anything else
replaces. ``merge_patch_diff`` goes the other way: the patch that turns one JSON value
into another, which is what the admin sends when staff edit a scope's whole object, so
that only what they changed is written.
"""

from __future__ import annotations

import copy
from typing import Any


def merge_patch_apply(target: Any, patch: Any) -> Any:
    """RFC 7396 §2 MergePatch(target, patch), without changing either argument."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch_apply(result.get(name), value)
    return result


def merge_patch_diff(original: Any, edited: Any) -> Any:
    """The smallest merge patch P with ``merge_patch_apply(original, P) == edited``, for
    an ``edited`` with no ``null`` inside its objects (a merge patch cannot set one: it
    reads as a removal). Members equal on both sides are left out; a member gone from
    ``edited`` is ``null``; objects are compared member by member, anything else whole."""
    if not isinstance(original, dict) or not isinstance(edited, dict):
        return copy.deepcopy(edited)
    patch: dict[str, Any] = {}
    for name in original:
        if name not in edited:
            patch[name] = None
    for name, value in edited.items():
        if name not in original:
            patch[name] = copy.deepcopy(value)
        elif not _same_json(original[name], value):
            patch[name] = merge_patch_diff(original[name], value)
    return patch


def _same_json(left: Any, right: Any) -> bool:
    """JSON equality: ``True`` is not ``1`` here, though Python says it is."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same_json(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same_json, left, right))
    return (type(left) is type(right) and left == right) or _both_numbers_equal(left, right)


def _both_numbers_equal(left: Any, right: Any) -> bool:
    numbers = (int, float)
    return isinstance(left, numbers) and isinstance(right, numbers) and left == right
