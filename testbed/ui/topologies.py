"""Commands on topologies, network files and configs: params, schema, validate, lint,
config-template, graph."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from testbed.errors import TestbedError
from testbed.model import catalog
from testbed.model import params as params_mod
from testbed.runtime import state
from testbed.system import preflight
from testbed.ui.common import add_param_opts, overrides


def cmd_params(args: argparse.Namespace) -> int:
    p = params_mod.Params({}, extra=catalog.extra_params(args.topology) if args.topology else None)
    for key in p:
        mark = " [testbed addition, not Azure]" if key in p.additions() else ""
        print(f"{key:30} {str(p[key]):22} {p.help(key)}{mark}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    from testbed.model.network.schema import NetworkFile
    print(json.dumps(NetworkFile.model_json_schema(), indent=2))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    topo = catalog.build(args.network, overrides(args))
    print(f"{args.network}: {topo.name} is valid: {len(topo.routers)} routers, {len(topo.hosts)} hosts, "
          f"{len(topo.links)} links, {len(topo.tunnels)} tunnels; paths {', '.join(topo.paths) or 'none'}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from testbed.azure import importer
    out = Path(args.output)
    notes = importer.run(Path(args.folder), out, Path(args.onprem) if args.onprem else None)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {out}: check it with 'testbed validate {out}', bring it up with 'testbed up {out}'")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from testbed.azure.lint import lint_files
    configs, premium = list(args.config), args.premium
    if args.network:  # the file's own configs, against the file's circuits
        from testbed.model.network.load import load
        net, src = load(args.network)
        configs += [str(src.resolve(r.config)) for s in net.onprem.sites for r in s.routers if r.config]
        premium = premium or any(c.sku == "premium" for c in (net.expressroute.circuits if net.expressroute else []))
    if not configs:
        raise TestbedError("lint wants FRR config files, or --network FILE whose routers name configs: give one.")
    findings = lint_files(configs, premium=premium)
    for f in findings:
        print(f)
    print(f"{len(findings)} finding{'s' if len(findings) != 1 else ''} in {len(configs)} file"
          f"{'s' if len(configs) != 1 else ''}", file=sys.stderr)
    return 1 if findings else 0


def cmd_config_template(args: argparse.Namespace) -> int:
    from testbed.daemons.byoconfig import template
    print(template(catalog.build(args.topology, overrides(args)), args.node), end="")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from testbed.ui import graph
    states = None
    if args.topology:
        topo = catalog.build(args.topology, overrides(args))
    else:
        preflight.require_root()
        from testbed.runtime.net import Network
        net = Network.attach(args.name)
        topo, states = net.topo, graph.live_states(net)
    highlight = tuple(n for n in (args.highlight or "").split(",") if n)
    print(graph.text(topo, states, highlight))
    if args.png:
        graph.png(topo, Path(args.png), states, highlight)
        print(f"\nwrote {args.png}")
    return 0


def register(sub) -> None:
    sp = sub.add_parser("params", help="every parameter with its (Azure) default")
    sp.add_argument("topology", nargs="?")
    sp.set_defaults(func=cmd_params)
    sp = sub.add_parser("lint", help="Azure conformance checks on on-prem FRR configs (exit 1 on findings)")
    sp.add_argument("config", nargs="*", metavar="CONFIG", help="FRR config files, checked together")
    sp.add_argument("--premium", action="store_true", help="ExpressRoute Premium: 10,000-prefix limit")
    sp.add_argument("--network", metavar="FILE", help="also the configs a network file names, against its circuits")
    sp.set_defaults(func=cmd_lint)
    sp = sub.add_parser("schema", help="the JSON Schema of network files (for editor completion)")
    sp.set_defaults(func=cmd_schema)
    sp = sub.add_parser("import", help="a network file from what the Azure CLI printed (testbed import azure DIR -o net.yaml)")
    sp.add_argument("source", choices=["azure"], help="where the description comes from")
    sp.add_argument("folder", help="the folder holding the az CLI's JSON output (see the README)")
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="the network file to write")
    sp.add_argument("--onprem", metavar="FILE", help="YAML with the on-prem section (onprem:) and edges: {azure name: [routers]}")
    sp.set_defaults(func=cmd_import)
    sp = sub.add_parser("validate", help="check a network file (schema, address plan, parameters) without starting it")
    sp.add_argument("network", help="a network file (net.yaml) or a name ('testbed list')")
    add_param_opts(sp)
    sp.set_defaults(func=cmd_validate)
    sp = sub.add_parser("config-template", help="the names, addresses and config your own config for a node must fit")
    sp.add_argument("node", help="an on-prem router (ce1, ce2, vpn1, core)")
    sp.add_argument("topology", help="a network file (net.yaml) or a topology name ('testbed list')")
    add_param_opts(sp)
    sp.set_defaults(func=cmd_config_template)
    sp = sub.add_parser("graph", help="a picture of a topology or a running run: nodes, links, addresses, ASNs, tunnels")
    sp.add_argument("topology", nargs="?", help="a topology name; without it, the running run (--name)")
    sp.add_argument("--name", "--run", dest="name", default=state.DEFAULT_RUN, type=state.check_run_name,
                    help=f"the running run to draw, with its BGP states (default {state.DEFAULT_RUN})")
    add_param_opts(sp)
    sp.add_argument("--png", metavar="FILE", help="also draw it as a PNG")
    sp.add_argument("--highlight", metavar="NODES", help="routers to mark, comma-separated (a lab's routers to fix)")
    sp.set_defaults(func=cmd_graph)
