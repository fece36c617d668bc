"""What every fault is: a small dataclass naming its target, whose ``inject`` and ``restore``
return an event stamped right after the action took effect (see the package docstring)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from testbed.model.events import Event, now_ns
from testbed.model.topo import Topology

if TYPE_CHECKING:
    from testbed.runtime.net import Network


def stamp(node: str, kind: str, fault: "Fault", issued_ns: int, t_ns: int | None = None,
           **detail: Any) -> Event:
    """The fault's event, stamped now unless the instant it took effect is given."""
    return Event(t_ns or now_ns(), "fault", node, kind,
                 {"fault": fault.name, "what": fault.describe(), "issued_ns": issued_ns, **detail})


@dataclass
class Fault(ABC):
    """One way to break the network; subclasses are small dataclasses naming their target."""

    settle: str = field(default="change", init=False)
    hold_s: float = field(default=0.0, init=False)
    #: stamped sub-steps beyond inject/restore (a flap's transitions), for the timeline
    steps: list[Event] = field(default_factory=list, init=False, repr=False)

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def describe(self) -> str:
        """One line for people: what breaks where."""

    def links(self) -> list[str]:
        """Labels of the links this fault touches (pcaps are taken there)."""
        return []

    def check(self, topo: Topology) -> None:
        """Raise TestbedError if the fault names something the topology lacks."""

    @contextmanager
    def armed(self, net: "Network") -> Iterator[None]:
        """For the block, whatever ``inject`` can have set up ahead of time, outside the timed
        part (an nftables table with its chains, so that inject and restore are one rule change
        each); without it a fault does everything in ``inject`` and ``restore``."""
        yield

    @abstractmethod
    def inject(self, net: "Network") -> Event: ...

    @abstractmethod
    def restore(self, net: "Network") -> Event: ...


@dataclass
class Together(Fault):
    """Several faults at once (both ER links of a circuit, every link of a gateway instance);
    the instant it took effect is the first part's, restore undoes them in reverse order."""

    parts: list[Fault]
    what: str = ""

    def describe(self) -> str:
        return self.what or " + ".join(f.describe() for f in self.parts)

    def links(self) -> list[str]:
        return [label for f in self.parts for label in f.links()]

    def check(self, topo: Topology) -> None:
        for f in self.parts:
            f.check(topo)

    @contextmanager
    def armed(self, net: "Network") -> Iterator[None]:
        with ExitStack() as stack:
            for f in self.parts:
                stack.enter_context(f.armed(net))
            yield

    def inject(self, net: "Network") -> Event:
        events = [f.inject(net) for f in self.parts]
        self.steps = events[1:]
        first = events[0]
        return Event(first.t_ns, "fault", first.node, "inject",
                     {**first.detail, "fault": self.name, "what": self.describe()})

    def restore(self, net: "Network") -> Event:
        events = [f.restore(net) for f in reversed(self.parts)]
        last = events[-1]
        return Event(last.t_ns, "fault", last.node, "restore",
                     {**last.detail, "fault": self.name, "what": self.describe()})
