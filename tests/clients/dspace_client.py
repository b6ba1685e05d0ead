"""Drives processd through dspace-rest-client (PyPI), the way a user of that client does:
password login, paging through `_links.next`, launching with a file, polling, listing files and
`download_bitstream`. Each step runs even when an earlier one failed, so one run reports every
break; the exit status is 1 if any step failed.

Run by tests/clients/run against a real processd; the scripts `echo` (anyone) and `cat` (a file
parameter `-f`, logged-in users) must exist.
"""

import argparse
import json
import sys
import time
import traceback
from urllib.parse import urlparse

from dspace_rest_client.client import DSpaceClient


class ProcessdClient(DSpaceClient):
    """The client's own paging decorator over the processd collections it has no method for."""

    @DSpaceClient.paginated("scripts", lambda resource: resource)
    def get_scripts_iter(self, do_paginate):
        return do_paginate(f"{self.API_ENDPOINT}/system/scripts", {})

    @DSpaceClient.paginated("processes", lambda resource: resource)
    def get_processes_iter(self, do_paginate):
        return do_paginate(f"{self.API_ENDPOINT}/system/processes", {})

    @DSpaceClient.paginated("bitstreams", lambda resource: resource)
    def get_files_iter(self, do_paginate, process):
        url = f"{self.API_ENDPOINT}/system/processes/{process['processId']}/files"
        return do_paginate(url, {})


FAILURES = []


def step(name):
    """Runs the decorated function at once as one named step, recording a failure."""

    def run(fun):
        try:
            fun()
            print(f"ok    {name}")
        except Exception as err:  # noqa: BLE001 - every failure is reported, then the next step runs
            FAILURES.append(name)
            print(f"FAIL  {name}: {err!r}")
            traceback.print_exc(limit=3, file=sys.stdout)
        return fun

    return run


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def absolute(href):
    check(urlparse(href).scheme in ("http", "https"), f"link is not absolute: {href}")
    return href


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True, help="base of the REST API, e.g. http://host:port/api")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()

    client = ProcessdClient(api_endpoint=args.api, username=args.user, password=args.password)
    # One item a page, so every listing below goes through `_links.next`.
    client.ITER_PAGE_SIZE = 1
    state = {}

    @step("login with user name and password")
    def _():
        check(client.authenticate() is True, "authenticate() did not return True")
        check(client.session.headers.get("Authorization", "").startswith("Bearer "), "no JWT kept")

    @step("root document links")
    def _():
        root = client.fetch_resource(args.api)
        check(root is not None, "GET /api failed")
        for name in ("scripts", "processes"):
            absolute(root["_links"][name]["href"])

    @step("list scripts through _links.next")
    def _():
        names = [s["name"] for s in client.get_scripts_iter()]
        check({"echo", "cat"} <= set(names), f"scripts listed: {names}")

    @step("list scripts with size=9999 (clamped)")
    def _():
        page = client.fetch_resource(f"{args.api}/system/scripts", {"size": 9999})
        check(page is not None, "size=9999 was refused")
        check(page["page"]["size"] == 100, f"page size reported: {page['page']}")

    @step("launch processes (multipart, with a file)")
    def _():
        launched = []
        for i in range(3):
            properties = [{"name": "-s", "value": f"hello {i}"}]
            launched.append(launch(client, args.api, "echo", properties, None))
        properties = [{"name": "-f", "value": "data.csv"}]
        files = {"data.csv": b"a,b\n1,2\n"}
        launched.append(launch(client, args.api, "cat", properties, files))
        state["launched"] = launched

    @step("launch answers with an absolute Location")
    def _():
        for response in state["launched"]:
            absolute(response.headers["Location"])

    @step("poll until the processes finish")
    def _():
        state["finished"] = []
        for response in state["launched"]:
            # Polled at the address the client knows, so a relative Location fails the step
            # above, not this one.
            process = response.json()
            url = f"{args.api}/system/processes/{process['processId']}"
            final = wait_done(client, url)
            check(final["processStatus"] == "COMPLETED", f"process ended {final}")
            state["finished"].append(final)
        state["cat"] = state["finished"][-1]

    @step("list processes through _links.next")
    def _():
        seen = {p["processId"] for p in client.get_processes_iter()}
        wanted = {p["processId"] for p in state["finished"]}
        check(wanted <= seen, f"missing from the listing: {wanted - seen}")

    @step("list a process's files")
    def _():
        files = list(client.get_files_iter(state["cat"]))
        inputs = [f for f in files if f["name"] == "data.csv"]
        check(inputs, f"files: {[f['name'] for f in files]}")
        state["input"] = inputs[0]
        check(inputs[0]["checkSum"]["checkSumAlgorithm"] == "MD5", "no MD5")
        absolute(inputs[0]["_links"]["content"]["href"])

    @step("download_bitstream of a process file")
    def _():
        response = client.download_bitstream(state["input"]["uuid"])
        check(response is not None, "download_bitstream returned nothing")
        check(response.content == b"a,b\n1,2\n", f"content: {response.content!r}")

    @step("console log as a bitstream (Accept: application/json), then its content")
    def _():
        href = absolute(state["cat"]["_links"]["output"]["href"])
        accept = {"Accept": "application/json, text/plain, */*"}
        response = client.api_get(href, headers={**client.request_headers, **accept})
        check(response.status_code == 200, f"{response.status_code} {response.text[:200]}")
        log = response.json()
        check(log.get("type") == "bitstream", f"not a bitstream: {log}")
        process = state["cat"]
        check(log["name"] == f"{process['processId']}-cat.log", f"name: {log['name']}")
        content = client.download_bitstream(log["uuid"])
        check(content is not None, "download_bitstream of the log returned nothing")
        check(b"a,b" in content.content, f"log: {content.content!r}")

    if FAILURES:
        print(f"dspace-rest-client: {len(FAILURES)} step(s) failed: {FAILURES}")
        return 1
    print("dspace-rest-client: all steps passed")
    return 0


def launch(client, api, script, properties, files):
    """POST .../processes as multipart/form-data with the client's logged-in session."""
    parts = [("properties", (None, json.dumps(properties), "application/json"))]
    for name, content in (files or {}).items():
        parts.append(("file", (name, content, "text/csv")))
    response = client.session.post(f"{api}/system/scripts/{script}/processes", files=parts)
    check(response.status_code == 202, f"{response.status_code} {response.text[:200]}")
    return response


def wait_done(client, url):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = client.fetch_resource(url)
        check(current is not None, f"GET {url} failed")
        if current["processStatus"] in ("COMPLETED", "FAILED"):
            return current
        time.sleep(0.2)
    raise AssertionError(f"{url} did not finish in time")


if __name__ == "__main__":
    sys.exit(main())
