"""What every benchmark script shares: timing, percentiles and its section of docs/benchmarks.md."""
import statistics
import time


def percentiles(samples_ms):
    """p50 and p99 of latencies in milliseconds."""
    ordered = sorted(samples_ms)
    return {"p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]}


def time_each(call, items):
    """Milliseconds `call(item)` took, per item."""
    samples = []
    for item in items:
        started = time.perf_counter()
        call(item)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def write_section(path, heading, body):
    """Replace (or append) one `## heading` section, leaving every other heading alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    section = [heading, ""] + body.rstrip().splitlines() + [""]
    if start is None:
        lines = lines + ([""] if lines and lines[-1].strip() else []) + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        lines = lines[:start] + section + lines[end:]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
