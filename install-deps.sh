#!/usr/bin/env bash
# Installs the Debian packages jobd needs to build, run and test, if any is
# missing. As root it runs apt-get; otherwise it prints the sudo line to run.
set -euo pipefail
PKGS=(
  cmake g++ make pkg-config
  libcaf-dev libsqlite3-dev sqlite3 libboost-dev libsimdjson-dev
  libcurl4-openssl-dev libssl-dev catch2 libpqxx-dev libpq-dev
  postgresql chromium systemd python3
)
# `make fuzz` (./install-deps.sh --fuzz) also needs clang and libFuzzer's
# runtime (libclang_rt.fuzzer); `make test` does not.
if [ "${1:-}" = "--fuzz" ]; then
  PKGS+=(clang libclang-rt-14-dev)
fi
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js (for the client-hooks test) may come from Debian or elsewhere:
# install Debian's only when there is none at all.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
