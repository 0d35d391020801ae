"""What every benchmark script shares: percentiles and its section of docs/benchmarks.md."""
import statistics


def percentiles(samples_ms):
    """p50 and p99 of latencies in milliseconds."""
    ordered = sorted(samples_ms)
    return {"p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]}


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
