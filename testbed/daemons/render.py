"""Render daemon configs from the topology model (templates in ``testbed/daemons/templates``)."""
from __future__ import annotations

from functools import cache

import jinja2

from testbed.model.topo import Router


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("testbed.daemons", "templates"),
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, **context) -> str:
    return _env().get_template(template).render(**context)


def frr_conf(router: Router, logfile: str) -> str:
    """The integrated ``frr.conf`` for one router."""
    return render("frr.conf.j2", r=router, logfile=logfile)
