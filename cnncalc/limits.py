"""The largest figure cnncalc computes: what a PyTorch tensor can hold.

PyTorch counts a tensor's elements in a signed 64-bit integer, so no layer's output has 2^63
elements or more. Sizes are checked where each layer makes them: the next layer's rule then
never sees a size that floating point (an upsample's scale) or the printers can't hold.
"""

from __future__ import annotations

from math import prod

from cnncalc.errors import SpecError

MAX_ELEMENTS = 2**63


def check_size(shape: tuple) -> None:
    """Refuse an output shape of 2^63 elements or more (symbolic sizes pass: they have no
    value yet)."""
    if not all(isinstance(d, int) for d in shape):
        return
    elements = prod(shape)
    if elements < MAX_ELEMENTS:
        return
    widest = max(shape[1:] or shape)
    if widest >= MAX_ELEMENTS:
        what = f"the output would be {magnitude(widest)} wide"
    else:
        what = f"the output would have {magnitude(elements)} elements"
    raise SpecError(f"{what}: PyTorch tensors stop at 2^63 elements",
                    hints=["check the sizes, strides and scales of the layers up to here"])


def magnitude(n: int) -> str:
    """A large count as a power of ten: 10^52 (digits are of no use at that size)."""
    return f"10^{len(str(n)) - 1}" if n < 10**4000 else "more than 10^4000"


# ---------------------------------------------------------------------------------------------
# Memory a process may still use: free memory isn't all of it under a limit of its own

def process_memory_limit() -> tuple[int, str] | None:
    """The bytes this process may still allocate under the limits that apply to it, and which
    limit binds: the address-space limit (`ulimit -v`, RLIMIT_AS, against the address space
    already mapped) or a container's memory limit (cgroup v2 `memory.max`, or v1's
    `memory.limit_in_bytes`, against its usage); None where neither is set."""
    found = [limit for limit in (_address_space_left(), _cgroup_left()) if limit is not None]
    return min(found) if found else None


def _address_space_left() -> tuple[int, str] | None:
    try:
        import resource
    except ImportError:     # pragma: no cover - not on POSIX
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    mapped = _status_kib("VmSize") or 0
    return soft - mapped * 1024, "the address-space limit (ulimit -v)"


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


CGROUP_ROOT = "/sys/fs/cgroup"


def _cgroup_left(groups_file: str = "/proc/self/cgroup",
                 root: str = CGROUP_ROOT) -> tuple[int, str] | None:
    """The least room under this process's cgroup and its ancestors (each may set a limit)."""
    import os

    try:
        with open(groups_file) as groups:
            lines = groups.read().splitlines()
    except OSError:
        return None
    left = []
    for line in lines:
        hierarchy, _, path = line.partition(":")[2].partition(":")
        if hierarchy == "":          # v2: 0::/path
            files, folder = ("memory.max", "memory.current"), root
        elif "memory" in hierarchy.split(","):
            files, folder = ("memory.limit_in_bytes", "memory.usage_in_bytes"), \
                os.path.join(root, "memory")
        else:
            continue
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts), -1, -1):
            where = os.path.join(folder, *parts[:depth])
            limit, used = (_read_number(os.path.join(where, f)) for f in files)
            if limit is not None and used is not None and limit < 2**62:   # v1's "none" is huge
                left.append(limit - used)
    return (min(left), "the container's memory limit (cgroup)") if left else None


def _read_number(path: str) -> int | None:
    try:
        with open(path) as file:
            return int(file.read().strip())
    except (OSError, ValueError):    # missing, or "max": no limit
        return None
