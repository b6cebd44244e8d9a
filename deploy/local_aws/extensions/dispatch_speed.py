"""moto's dispatch of each request, without the work that gives the same answer every time.

Per request, moto's server lists its own package folder (``list_of_moto_modules``: a listdir and a stat per
service, under the dispatcher's global lock) and inspects the response class for its methods
(``method_names_from_class``). Both answers are fixed once the server runs (every extension has added its
methods before the first request), so they are computed once. About a fifth of the server's CPU per AWS call.
"""

from __future__ import annotations

import functools


def apply() -> None:
    from moto import backends
    from moto.core import responses, utils

    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # werkzeug_app looks it up on the module for every request

    @functools.cache
    def method_names(cls: type) -> frozenset[str]:  # responses.py only asks whether an action is among them
        return frozenset(utils.method_names_from_class(cls))

    responses.method_names_from_class = method_names
