#!/usr/bin/env bash
# Installs what the harness needs besides Rust: redis-server and
# redis-sentinel and iproute2 (Debian/Ubuntu packages). Does nothing when they are there.
# Then tries, best effort, to install chromium, which only the browser
# check of `harness report --html` uses (tests/report.rs skips it without).
set -euo pipefail

# Best effort: never fails the script.
install_chromium() {
  if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    return 0
  fi
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      as_root=(sudo -n)
    else
      echo "note: chromium not installed (not root, no passwordless sudo): the browser check of the HTML report will be skipped" >&2
      return 0
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "note: chromium not installed (no apt-get): the browser check of the HTML report will be skipped" >&2
    return 0
  fi
  echo "installing chromium (optional: a headless browser check of the HTML report)" >&2
  local apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
  if "${apt[@]}" install -y -qq chromium >/dev/null 2>&1 \
    || { "${apt[@]}" update -qq >/dev/null 2>&1 && "${apt[@]}" install -y -qq chromium >/dev/null 2>&1; }; then
    return 0
  fi
  echo "note: apt-get install chromium failed: the browser check of the HTML report will be skipped" >&2
  return 0
}

# Best effort: redis-py for the example workers of docs/PROTOCOL.md
# (examples/python-worker/); tests/byo.rs skips without it.
install_python_redis() {
  if ! command -v python3 >/dev/null 2>&1 || python3 -c "import redis" >/dev/null 2>&1; then
    return 0
  fi
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      as_root=(sudo -n)
    else
      echo "note: redis-py missing (not root): run 'python3 -m pip install redis' to use examples/python-worker" >&2
      return 0
    fi
  fi
  if command -v apt-get >/dev/null 2>&1; then
    local apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
    "${apt[@]}" install -y -qq python3-redis >/dev/null 2>&1 \
      || { "${apt[@]}" update -qq >/dev/null 2>&1 && "${apt[@]}" install -y -qq python3-redis >/dev/null 2>&1; } || true
  fi
  if ! python3 -c "import redis" >/dev/null 2>&1; then
    python3 -m pip install -q redis >/dev/null 2>&1 \
      || echo "note: could not install redis-py for $(command -v python3): run 'python3 -m pip install redis' to use examples/python-worker" >&2
  fi
  return 0
}

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
# iproute2 (ip, tc): emulated hosts (network namespaces, veth, tc netem).
{ command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1; } || need+=(iproute2)
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found: install Rust first (https://rustup.rs), then rerun this command" >&2
  exit 1
fi
if [ ${#need[@]} -eq 0 ]; then
  install_chromium
  install_python_redis
  exit 0
fi
echo "installing ${need[*]} (needed to run Redis-coordinated word counts)" >&2
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: ${need[*]} missing and apt-get not found: install ${need[*]} (Redis >= 7.0, iproute2) with your package manager, then rerun" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "error: ${need[*]} missing and not root (no sudo): run 'apt-get update && apt-get install -y ${need[*]}' as root, then rerun" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
for binary in redis-server redis-sentinel ip tc; do
  if ! command -v "$binary" >/dev/null 2>&1; then
    echo "error: $binary still not found after apt-get install: install it by hand (Redis >= 7.0; ip and tc come with iproute2), then rerun" >&2
    exit 1
  fi
done
install_chromium
install_python_redis
