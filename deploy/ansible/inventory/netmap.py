#!/usr/bin/env python3
"""Ansible dynamic inventory from a NetMap collector (GET /api/v1/inventory/ansible).

  ansible-playbook -i deploy/ansible/inventory/netmap.py PLAYBOOK.yml

NETMAP_HTTP_URL  the collector's HTTP API (default http://127.0.0.1:7070)
NETMAP_TOKEN     its bearer token; else the file named by NETMAP_TOKEN_FILE; else the
                 token a collector without a configured one writes for its user, at
                 $XDG_STATE_HOME/netmap/token-HOST_PORT (default ~/.local/state/netmap/),
                 HOST_PORT its NETMAP_GRPC_ADDR (default 127.0.0.1:7071) with ':' as '_'

Speaks Ansible's inventory script protocol: --list prints the inventory (hostvars
included under _meta, so Ansible never calls --host), --host H prints H's variables.
Any failure is one line on stderr and exit 1; bad usage exits 2. Python 3 standard
library only, since it runs wherever Ansible does.
"""
import json
import os
import re
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:7070"
PATH = "/api/v1/inventory/ansible"
TIMEOUT_SECONDS = 30
USAGE = "usage: netmap.py --list | --host HOST"


class InventoryError(Exception):
    pass


def local_token_path(env):
    # One file per collector instance, named by its gRPC address (collector/src/auth/token.ts).
    state = env.get("XDG_STATE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    address = re.sub(r"[^A-Za-z0-9.-]", "_", env.get("NETMAP_GRPC_ADDR") or "127.0.0.1:7071")
    return os.path.join(state, "netmap", f"token-{address}")


def read_token_file(path, required):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError as error:
        if required:
            raise InventoryError(f"NETMAP_TOKEN_FILE: cannot read {path}: {error.strerror}") from error
        return None


def find_token(env):
    """The token and where it came from, for messages; (None, hint) when there is none."""
    if env.get("NETMAP_TOKEN", "").strip():
        return env["NETMAP_TOKEN"].strip(), "NETMAP_TOKEN"
    if env.get("NETMAP_TOKEN_FILE"):
        path = env["NETMAP_TOKEN_FILE"]
        token = read_token_file(path, required=True)
        if token is None:
            raise InventoryError(f"NETMAP_TOKEN_FILE: {path} is empty")
        return token, path
    path = local_token_path(env)
    return read_token_file(path, required=False), path


def fetch_inventory(env):
    base = (env.get("NETMAP_HTTP_URL") or DEFAULT_URL).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InventoryError(f"NETMAP_HTTP_URL: expected http://HOST:PORT or https://…, got {base!r}")
    url = base + PATH
    token, origin = find_token(env)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        if error.code == 401:
            why = (f"the token in {origin} is not the collector's" if token
                   else f"no token: set NETMAP_TOKEN or NETMAP_TOKEN_FILE; a collector without a configured one writes it to {origin}")
            raise InventoryError(f"the collector at {base} refused the request: unauthenticated ({why})") from error
        raise InventoryError(f"the collector at {base} answered {error.code} for {PATH}: {error_message(error)}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise InventoryError(f"cannot reach the collector at {base} ({reason}); is `netmap serve` running, and NETMAP_HTTP_URL right?") from error
    try:
        inventory = json.loads(body)
    except ValueError as error:
        raise InventoryError(f"the collector at {base} answered {PATH} with something other than JSON") from error
    if not isinstance(inventory, dict) or not isinstance(inventory.get("_meta", {}).get("hostvars"), dict):
        raise InventoryError(f"the collector at {base} answered {PATH} without _meta.hostvars; is it a NetMap collector?")
    return inventory


def error_message(error):
    """The message of the collector's JSON error body, else the HTTP reason."""
    try:
        return json.loads(error.read())["error"]["message"]
    except Exception:  # any body that is not NetMap's error shape
        return error.reason


def main(argv, env):
    if argv == ["--list"]:
        result = fetch_inventory(env)
    elif len(argv) == 2 and argv[0] == "--host":
        result = fetch_inventory(env)["_meta"]["hostvars"].get(argv[1], {})
    else:
        print(USAGE, file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:], os.environ))
    except InventoryError as failure:
        print(f"netmap inventory: {failure}", file=sys.stderr)
        sys.exit(1)
