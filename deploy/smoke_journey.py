"""A shopper's and a seller's journey through the running compose stack, via nginx.

Standard library only, so it runs from the host without the project's virtualenv:

    python3 deploy/smoke_journey.py --base http://localhost:8080 --photo data/images/1163.jpg

Steps: home → a product page with its photo and recommendations → search → a new
buyer signs up, logs out and logs back in → add to cart → checkout with the test
card → a new seller lists a product with a photo → the Celery worker embeds the
photo, so searching by that photo finds the new listing. Forms are filled the
way a browser would: every field the page renders keeps its value (CSRF token
included) unless the step sets it. Exits non-zero at the first step that fails.
"""
import argparse
import http.cookiejar
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from html.parser import HTMLParser

PASSWORD = "smoke-Journey-8431"


class JourneyFailed(Exception):
    pass


class Forms(HTMLParser):
    """Every <form> of a page: its method, action, and the values a browser would submit."""

    def __init__(self):
        super().__init__()
        self.forms, self._form, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"method": attrs.get("method", "get").lower(), "action": attrs.get("action", ""),
                          "id": attrs.get("id", ""), "fields": {}, "files": set()}
            self.forms.append(self._form)
        elif self._form is None or "name" not in attrs or "disabled" in attrs:
            return
        elif tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind == "file":
                self._form["files"].add(attrs["name"])
            elif kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self._form["fields"][attrs["name"]] = attrs.get("value", "on")
                elif kind == "radio":
                    self._form["fields"].setdefault(attrs["name"], None)
            elif kind not in ("submit", "button", "image", "reset"):
                self._form["fields"][attrs["name"]] = attrs.get("value", "")
        elif tag == "select":
            self._select = attrs["name"]
            self._form["fields"].setdefault(self._select, None)
        elif tag == "option" and self._select:
            if "selected" in attrs or self._form["fields"][self._select] is None:
                self._form["fields"][self._select] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self._form["fields"][self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


class Browser:
    def __init__(self, base):
        self.base = base.rstrip("/")
        # Like a browser on http://localhost: production's Secure cookies are sent
        # to a loopback address without TLS.
        policy = http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
        self.cookies = http.cookiejar.CookieJar(policy)
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.url, self.html = None, ""

    def request(self, path, data=None, headers=None, expect=200):
        url = urllib.parse.urljoin(self.url or self.base + "/", path)
        if not url.startswith(self.base + "/"):
            raise JourneyFailed(f"refusing to leave {self.base}: {url}")
        headers = {"Referer": self.url or self.base + "/", **(headers or {})}
        try:
            with self.opener.open(urllib.request.Request(url, data=data, headers=headers), timeout=60) as response:
                status, body, self.url = response.status, response.read(), response.url
                content_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, body, content_type = error.code, error.read(), error.headers.get("Content-Type", "")
        if status != expect:
            raise JourneyFailed(f"{url}: HTTP {status}, expected {expect}\n{body[:800].decode(errors='replace')}")
        if content_type.startswith("text/html"):
            self.html = body.decode()
        return body

    def get(self, path, **kwargs):
        return self.request(path, **kwargs)

    def form(self, pick):
        parser = Forms()
        parser.feed(self.html)
        for form in parser.forms:
            if pick(form):
                return form
        raise JourneyFailed(f"{self.url}: no such form")

    def submit(self, form, values=None, files=None):
        fields = {k: v for k, v in {**form["fields"], **(values or {})}.items() if v is not None}
        if form["method"] == "get":
            return self.get(form["action"] + "?" + urllib.parse.urlencode(fields))
        if files or form["files"]:
            body, content_type = multipart(fields, files or {})
        else:
            body, content_type = urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
        return self.request(form["action"] or self.url, data=body, headers={"Content-Type": content_type})


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: image/jpeg\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def product_links(html):
    return list(dict.fromkeys(re.findall(r'href="(/p/[^"/]+/)"', html)))


def step(name):
    print(f"-- {name}", flush=True)


def journey(base, photo, embed_timeout):
    shop = Browser(base)
    run = uuid.uuid4().hex[:8]

    step("home")
    shop.get("/")
    products = product_links(shop.html)
    if not products:
        raise JourneyFailed("the home page links no product")

    step("product page with a photo and recommendations")
    for path in products:
        shop.get(path)
        photo_url = re.search(r'<img src="(/media/[^"]+)"[^>]*class="product-photo', shop.html)
        if photo_url and "data-recommendations=" in shop.html:
            break
    else:
        raise JourneyFailed("no product on the home page has both a photo and recommendations")
    product_page = shop.url
    shop.get(photo_url.group(1))  # nginx serves the media volume

    step("search")
    shop.get(product_page)
    shop.submit(shop.form(lambda f: "q" in f["fields"] and f["method"] == "get"), {"q": "shirt"})
    if not product_links(shop.html):
        raise JourneyFailed("searching for 'shirt' found nothing")

    step("buyer signs up, logs out and logs in")
    buyer = f"smoke-buyer-{run}"
    shop.get("/accounts/signup/")
    shop.submit(shop.form(lambda f: "password1" in f["fields"]),
                {"username": buyer, "email": f"{buyer}@example.com", "password1": PASSWORD, "password2": PASSWORD})
    shop.submit(shop.form(lambda f: f["action"].endswith("/accounts/logout/")))
    shop.get("/accounts/login/")
    shop.submit(shop.form(lambda f: "password" in f["fields"]), {"username": buyer, "password": PASSWORD})
    if buyer not in shop.html:
        raise JourneyFailed("after logging in, the page does not show the buyer")

    step("add to cart")
    shop.get(product_page)
    shop.submit(shop.form(lambda f: "/cart/add/" in f["action"]))
    shop.get("/cart/")
    if product_page.rstrip("/").rsplit("/", 1)[-1] not in shop.html:
        raise JourneyFailed("the cart does not hold the product")

    step("checkout")
    shop.get("/cart/checkout/")
    shop.submit(shop.form(lambda f: "card_number" in f["fields"]), {
        "address": "new", "full_name": "Smoke Test", "line1": "1 Loopback Road", "city": "Localhost",
        "postcode": "127001", "country": "India", "phone": "+91 0000000000",
        "card_number": "4242 4242 4242 4242",
    })
    if "/thanks/" not in shop.url:
        raise JourneyFailed(f"checkout did not reach the confirmation page: {shop.url}")

    step("seller signs up and lists a product with a photo")
    seller = Browser(base)
    name = f"smoke-seller-{run}"
    seller.get("/sell/signup/")
    seller.submit(seller.form(lambda f: "store_name" in f["fields"]), {
        "username": name, "email": f"{name}@example.com", "store_name": f"Smoke Store {run}",
        "password1": PASSWORD, "password2": PASSWORD,
    })
    seller.get("/sell/products/new/")
    with open(photo, "rb") as handle:
        image = handle.read()
    seller.submit(seller.form(lambda f: f["id"] == "product-form"), {
        "name": f"Smoke Test Navy Blue Cotton Shirt {run}", "description": "Listed by the compose smoke test.",
        "price": "999.00", "stock": "5", "gender": "Men", "master_category": "Apparel",
        "sub_category": "Topwear", "article_type": "Shirts", "base_colour": "Navy Blue",
        "season": "Summer", "year": "2026", "usage": "Casual", "is_active": "on",
    }, files={"photo": ("listing.jpg", image)})
    listed = re.search(r"is listed as ([^\s<.]+)", seller.html)
    if not listed:
        raise JourneyFailed("the listing was not confirmed")
    sku = listed.group(1)

    step(f"the worker embeds {sku}'s photo: search by that photo finds it")
    deadline = time.monotonic() + embed_timeout
    while True:
        shop.get("/search/photo/")
        shop.submit(shop.form(lambda f: "photo" in f["files"]), files={"photo": ("query.jpg", image)})
        if f"/p/{sku}/" in shop.html:
            break
        if time.monotonic() > deadline:
            raise JourneyFailed(f"photo search did not find {sku} within {embed_timeout} s")
        time.sleep(4)  # nginx allows 30 photo searches a minute per client
    shop.get(f"/p/{sku}/")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://localhost:8080")
    parser.add_argument("--photo", required=True, help="a product photo (JPEG) for the seller's listing")
    parser.add_argument("--embed-timeout", type=int, default=120)
    args = parser.parse_args()
    started = time.monotonic()
    try:
        journey(args.base, args.photo, args.embed_timeout)
    except JourneyFailed as failure:
        print(f"SMOKE JOURNEY FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    print(f"smoke journey passed in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
