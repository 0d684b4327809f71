"""Fidelity matrix client (tests only): GETs each job's URL through its HTTPS CONNECT proxy.

Usage: python3 fidelity-client.py <urllib|requests> <proxy CA PEM>   (jobs on stdin, one a line:
"<id> <proxy port> <url>"). Prints one line a job: "RESULT <id> <status> <base64 body or error>".
"""
import base64
import ssl
import sys


def with_urllib(ca, port, url):
    import urllib.request

    ctx = ssl.create_default_context(cafile=ca)
    proxy = "http://127.0.0.1:%d" % port
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"https": proxy}),
        urllib.request.HTTPSHandler(context=ctx),
    )
    with opener.open(url, timeout=20) as r:
        return r.status, r.read()


def with_requests(ca, port, url):
    import requests

    proxy = "http://127.0.0.1:%d" % port
    r = requests.get(url, proxies={"https": proxy}, verify=ca, timeout=20)
    return r.status_code, r.content


def main():
    lib, ca = sys.argv[1], sys.argv[2]
    get = with_urllib if lib == "urllib" else with_requests
    for line in sys.stdin.read().splitlines():
        if not line.strip():
            continue
        job_id, port, url = line.split(" ")
        try:
            status, body = get(ca, int(port), url)
        except Exception as e:  # reported to the test, which fails the cell
            status, body = 0, ("%s: %s" % (type(e).__name__, e)).encode()
        print("RESULT %s %d %s" % (job_id, status, base64.b64encode(body).decode()), flush=True)


main()
