"""Pixel bombs against photo search: ten concurrent 25-megapixel uploads, anonymously.

Starts gunicorn (fashionshop/gunicorn.conf.py, DEBUG off) on a free loopback port,
warms every worker with small photo searches, then sends each scenario as ten
concurrent uploads and reads how much the workers' memory grew (RSS summed over
workers, which keep what they grew) and what every upload was answered. The
baseline is ten small photos in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME .venv/bin/python bench/pixel_bombs.py --ports 8200-8299

Target (issue 11): ten concurrent 25 MP uploads grow the workers by less than 300 MB
in total, and every upload gets an answer (a refusal is fine).
"""
import argparse
import io
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.load import HOST, PYTHON, ROOT, _request, _smaps, free_port, manage, wait_until_up  # noqa: E402
from bench.report import write_section  # noqa: E402

CONCURRENT = 10
TARGET_MB = 300


def _encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def scenarios():
    side = 5000  # 25,000,000 pixels
    gradient = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    return {
        "10 small photos (baseline)": ("png", _encode(Image.new("RGB", (200, 260), (180, 40, 40)), "PNG")),
        "10 single-colour 25 MP PNGs (the reported bomb)": ("png", _encode(Image.new("RGB", (side, side), (180, 40, 40)), "PNG")),
        "10 25 MP JPEGs (decoded at reduced scale)": ("jpg", _encode(gradient, "JPEG", quality=70)),
        "10 9 MP PNGs (the largest full decode accepted)": ("png", _encode(gradient.resize((3000, 3000)), "PNG")),
    }


def workers_rss_mb(master_pid):
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return sum(_smaps(int(pid))["rss_mb"] for pid in children)


def photo_search(port, photo, extension):
    """POST one photo as a fresh anonymous browser; the HTTP status (or the error)."""
    _, cookies = _request(port, "GET", "/search/photo/")
    token = cookies["csrftoken"]
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.{extension}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    try:
        status, _ = _request(port, "POST", "/search/photo/", body, {
            "Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": f"csrftoken={token}"})
        return status
    except OSError as exc:
        return f"no answer ({exc.__class__.__name__})"


def burst(port, extension, photo):
    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        statuses = list(pool.map(lambda _: photo_search(port, photo, extension), range(CONCURRENT)))
    return statuses, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ports", default="8200-8299", help="where gunicorn may listen (first free)")
    parser.add_argument("--no-report", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args()
    env = {**os.environ, "DEBUG": "0", "GUNICORN_ACCESSLOG": "/dev/null",
           # Every upload goes through the decode path: the per-address limit is measured by tests.
           "PHOTO_SEARCH_ANONYMOUS_PER_MINUTE": "100000"}
    manage(env, "migrate", "--noinput", "-v0")
    low, high = (int(n) for n in args.ports.split("-"))
    port = free_port(range(low, high + 1))
    gunicorn = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "--config", "fashionshop/gunicorn.conf.py",
         "--bind", f"{HOST}:{port}", "fashionshop.wsgi:application"], cwd=ROOT, env=env)
    rows = []
    try:
        wait_until_up(port, gunicorn)
        small = scenarios()["10 small photos (baseline)"]
        for _ in range(3):  # warm every worker: imports, templates, the model
            burst(port, *small)
        for name, (extension, photo) in scenarios().items():
            before = workers_rss_mb(gunicorn.pid)
            statuses, seconds = burst(port, extension, photo)
            time.sleep(1)
            grown = workers_rss_mb(gunicorn.pid) - before
            answered = sum(isinstance(s, int) and (s < 500 or s == 503) for s in statuses)
            rows.append((name, len(photo), statuses, grown, seconds, answered))
            print(f"{name}: {len(photo) / 1024:.0f} KB each, statuses {sorted(map(str, statuses))}, "
                  f"workers grew {grown:.0f} MB, {seconds:.1f} s", flush=True)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=60)
    baseline = rows[0][3]
    lines = ["`bench/pixel_bombs.py`: gunicorn (fashionshop/gunicorn.conf.py defaults, DEBUG off) on "
             f"127.0.0.1, {os.cpu_count()} cores, {CONCURRENT} concurrent anonymous photo searches per row; "
             "growth is the workers' summed RSS after minus before "
             f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).", "",
             "| uploads | size each | answers | workers grew | vs baseline | wall time |",
             "|---|---|---|---|---|---|"]
    for name, size, statuses, grown, seconds, _ in rows:
        counts = ", ".join(f"{statuses.count(s)}× {s}" for s in sorted(set(statuses), key=str))
        lines.append(f"| {name} | {size / 1024:,.0f} KB | {counts} | {grown:.0f} MB | "
                     f"{grown - baseline:+.0f} MB | {seconds:.1f} s |")
    worst = max(grown for _, _, _, grown, _, _ in rows[1:])
    every_answered = all(answered == CONCURRENT for *_, answered in rows)
    lines += ["", f"Target: under {TARGET_MB} MB for ten 25 MP uploads, every one answered. "
              f"Worst row: {worst:.0f} MB; every upload answered: {'yes' if every_answered else 'no'}. "
              "PNGs over MAX_DECODED_PIXELS are refused from their header; JPEGs decode at 1/2–1/8 scale "
              "(main/images.py); each worker runs one forward pass at a time."]
    print("\n".join(lines))
    if not args.no_report:
        write_section(ROOT / "docs" / "benchmarks.md", "## Pixel bombs (photo search)", "\n".join(lines))
    return 0 if worst < TARGET_MB and every_answered else 1


if __name__ == "__main__":
    sys.exit(main())
