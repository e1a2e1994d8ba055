#!/usr/bin/env python3
"""Checks Whistle's Open311 GeoReport v2 endpoint with a real third-party client: PyPI
`georeport` (read side, JSON and XML) and `requests` for the form-encoded POST the spec defines.

    python3 scripts/open311_client_check.py http://127.0.0.1:PORT wht_<open311 token>
"""
import sys

import requests
from georeport import GeoReport

base, key = sys.argv[1].rstrip("/"), sys.argv[2]
root = f"{base}/open311/v2"
passed, failed = 0, 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {name} {detail}", file=sys.stderr)


def as_list(value):
    # xmltodict gives a dict for a single element and a list for several.
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


created = []
for street, code, text in [("110105010", "11.04.01", "路口有人占道经营"), ("110105001", "12.01.02", "小区外路灯不亮")]:
    response = requests.post(
        f"{root}/requests.json",
        data={"api_key": key, "jurisdiction_id": "beijing.gov.cn", "service_code": code,
              "address_string": "北京市朝阳区", "description": text, "phone": "13800001234",
              "attribute[street]": street},
    )
    check("POST requests.json", response.status_code == 201, response.text)
    created.append(response.json()[0]["service_request_id"])
response = requests.post(f"{root}/requests.xml", data={"service_code": "11.04.01", "address_string": "x"})
check("POST without api_key is 403", response.status_code == 403, response.text)
check("XML errors", "<errors><error><code>403</code>" in response.text, response.text)

for output_format in ("json", "xml"):
    client = GeoReport(root, jurisdiction="beijing.gov.cn", output_format=output_format)
    services = as_list(client.get_service_list())
    codes = {s["service_code"] for s in services}
    check(f"{output_format}: services", "11.04.01" in codes and len(codes) > 50, str(len(codes)))
    definition = client.get_service_definition("11.04.01")
    check(f"{output_format}: service definition", definition["service_code"] == "11.04.01", str(definition))
    listed = as_list(client.get_service_requests(status="open"))
    ids = {r["service_request_id"] for r in listed}
    check(f"{output_format}: open requests", set(created) <= ids, str(ids))
    filtered = as_list(client.get_service_requests(service_code="12.01.02"))
    check(f"{output_format}: by service code", [r["service_request_id"] for r in filtered] == [created[1]], str(filtered))
    one = client.get_service_request(created[0])
    check(f"{output_format}: one request", one["service_request_id"] == created[0] and one["status"] == "open", str(one))
    check(f"{output_format}: offset datetimes", one["requested_datetime"].endswith("+08:00"), one["requested_datetime"])
    check(f"{output_format}: no personal data", "13800001234" not in str(listed) + str(one))
    several = as_list(client.get_service_requests(service_request_id=",".join(created)))
    check(f"{output_format}: several ids", len(several) == 2, str(several))

print(f"open311 client: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
