"""Two small helpers to patch moto classes in place: add a method, or wrap one keeping the original."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def add_method(cls: type, name: str, func: Callable[..., Any]) -> None:
    """Add an API action to a moto Response class (moto dispatches by method name)."""
    if name in cls.__dict__:
        raise RuntimeError(f"{cls.__name__}.{name} already exists; the moto version changed, review this extension")
    func.__name__ = name
    setattr(cls, name, func)


def wrap_method(cls: type, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Replace cls.name by fn(original, self, *args, **kwargs)."""
    original = getattr(cls, name)

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            return fn(original, self, *args, **kwargs)

        setattr(cls, name, wrapper)
        return wrapper

    return decorator
