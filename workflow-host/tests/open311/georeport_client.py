"""Open311 GeoReport v2 as an independent client reads it: the PyPI package `georeport`
(GeoReport, a wrapper of the v2 API) lists the services and the requests and reads one
request; it has no call that creates one, so the POST is sent as the specification
describes it (form-encoded, with `api_key`) through `requests`, the HTTP library
`georeport` itself uses. Exits non-zero naming the first check that fails.

Environment: BASE (the server's root URL), API_KEY (a UPP token), PUBLIC (the id of a
public complaint with a progress report), SECRET (the id of a confidential one), NAME
and PHONE (the complainants' identity, which must appear nowhere)."""
import json
import os
import sys

import requests
from georeport import GeoReport

BASE = os.environ["BASE"].rstrip("/") + "/open311/v2"
NAME = os.environ["NAME"]
PHONE = os.environ["PHONE"]


def check(condition, what):
    if not condition:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def no_identity(value, what):
    text = json.dumps(value, ensure_ascii=False)
    check(NAME not in text and PHONE not in text, f"{what}: no identity")


client = GeoReport(BASE)

services = client.get_service_list()
codes = sorted(s["service_code"] for s in services)
check(codes == ["infrastruktur"], f"services: the public complaints' categories ({codes})")
check(all(s["metadata"] is False for s in services), "services: no metadata to define")

listed = client.get_service_requests()
ids = [r["service_request_id"] for r in listed]
check(os.environ["PUBLIC"] in ids, "requests: the public complaint is listed")
check(os.environ["SECRET"] not in ids, "requests: the confidential complaint is not")
no_identity(listed, "requests")
check(
    client.get_service_requests(status="closed") == [],
    "requests: none closed",
)
check(
    [r["service_request_id"] for r in client.get_service_requests(status="open", service_code="infrastruktur")]
    == [os.environ["PUBLIC"]],
    "requests: open ones of infrastruktur",
)

one = client.get_service_request(os.environ["PUBLIC"])
check(one["status"] == "open", "request: open")
check(one["service_code"] == "infrastruktur", "request: its service")
check(bool(one.get("status_notes")), "request: status notes from the progress report")
check(one["requested_datetime"].endswith("Z"), "request: a W3C datetime")
no_identity(one, "request")

try:
    client.get_service_request(os.environ["SECRET"])
    check(False, "request: a confidential complaint is not served")
except requests.HTTPError as e:
    check(e.response.status_code == 404, "request: a confidential complaint is a 404")
    body = e.response.json()
    check(
        isinstance(body, list) and body[0]["code"] == 404 and body[0]["description"],
        "request: the 404 in GeoReport's error shape",
    )

form = {
    "service_code": "infrastruktur",
    "description": "Drainase tersumbat di Jl. Seth Adji",
    "address_string": "Jl. Seth Adji, Kuala Kapuas",
    "first_name": NAME.split()[0],
    "last_name": NAME.split()[-1],
    "phone": PHONE,
    "attribute[confidentiality]": "public",
}
refused = requests.post(f"{BASE}/requests.json", data=form, timeout=30)
check(refused.status_code == 403, f"POST without api_key refused ({refused.status_code})")
check(refused.json()[0]["code"] == 403, "POST refusal in GeoReport's error shape")
created = requests.post(
    f"{BASE}/requests.json", data={**form, "api_key": os.environ["API_KEY"]}, timeout=30
)
check(created.status_code == 201, f"POST with a UPP api_key ({created.status_code} {created.text})")
new_id = created.json()[0]["service_request_id"]
no_identity(created.json(), "POST answer")
fetched = client.get_service_request(new_id)
check(fetched["description"] == form["description"], "the new request reads back")
no_identity(fetched, "the new request")
print("georeport client: all checks passed")
