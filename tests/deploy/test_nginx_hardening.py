"""The shipped nginx configuration: no version banner, security headers in every location
that sets its own, rate limits on the logins and photo search, and an HTTPS example."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONF = (ROOT / "nginx" / "nginx.conf").read_text()
ACTIVE = "\n".join(line for line in CONF.splitlines() if not line.lstrip().startswith("#"))
SECURITY_HEADERS = {"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Permissions-Policy"}


def _locations(text):
    """{location argument: body} of every location block (they hold no nested blocks)."""
    return dict(re.findall(r"location\s+([^{]+?)\s*\{([^}]*)\}", text))


def _headers(body):
    return set(re.findall(r"add_header\s+([\w-]+)", body))


def test_the_version_is_not_announced():
    assert re.search(r"^\s*server_tokens off;", ACTIVE, re.M)


def test_every_location_with_its_own_headers_repeats_the_security_headers():
    server_level = _headers(re.sub(r"location\s+[^{]+\{[^}]*\}", "", ACTIVE))
    assert SECURITY_HEADERS <= server_level
    locations = _locations(ACTIVE)
    assert {"/static/", "/media/", "/"} <= set(locations)
    for name, body in locations.items():
        if _headers(body):
            assert SECURITY_HEADERS <= _headers(body), name


def test_logins_and_photo_search_are_rate_limited():
    locations = _locations(ACTIVE)
    for path, zone in (("= /accounts/login/", "login"), ("= /admin/login/", "login"),
                       ("= /search/photo/", "photo_search")):
        assert f"limit_req zone={zone}" in locations[path], path
        assert "proxy_pass http://fashionshop_web;" in locations[path]
    assert re.search(r"limit_req_zone \$post_client zone=login:\S+ rate=\d+r/m;", ACTIVE)
    assert "limit_req_status 429;" in ACTIVE
    # The app's throttles read the address nginx saw.
    assert "proxy_set_header X-Real-IP $remote_addr;" in ACTIVE


def test_a_commented_https_server_with_hsts_is_shipped():
    commented = "\n".join(line.lstrip()[1:] for line in CONF.splitlines() if line.lstrip().startswith("#"))
    assert "listen 443 ssl;" in commented and "ssl_certificate" in commented
    assert re.search(r'add_header Strict-Transport-Security "max-age=\d+', commented)


def test_nginx_buffers_requests_and_responses_for_the_sync_workers():
    # gunicorn's workers serve one request at a time (fashionshop/gunicorn.conf.py):
    # a slow client must be met by nginx's buffers, never hold a worker.
    assert not re.search(r"proxy_(request_)?buffering\s+off", ACTIVE)
    assert re.search(r"^\s*client_max_body_size\s+\d+[kKmM]?;", ACTIVE, re.M)
