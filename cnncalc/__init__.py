"""cnncalc: exact shapes, parameters, MACs, FLOPs, memory and receptive fields of a CNN,
computed from a declarative YAML spec without building the network."""

__version__ = "0.1.0"
