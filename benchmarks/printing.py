"""What every benchmark script prints with: one aligned line per figure, and the load average
beside it (the machine is shared: other work slows every figure)."""


def load():
    """The 1-minute load average, as /proc/loadavg gives it."""
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def say(label, value, unit=""):
    print(f"{label:64s} {value:>14} {unit}", flush=True)
