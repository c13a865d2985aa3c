#!/usr/bin/env bash
# Install the Debian 12 packages hearth needs, when they are missing.
#   scripts/deps.sh run     what building and running hearthd needs
#   scripts/deps.sh test    that, plus what the test suite needs (postgresql: the tests
#                           start their own server from /usr/lib/postgresql/<v>/bin, off PATH)
# Runs apt-get through sudo when not root; does nothing when all are present.
set -euo pipefail

run_pkgs=(build-essential cmake ninja-build pkg-config
          libuv1-dev libwebsockets-dev libwebsockets-evlib-uv libjansson-dev libssl-dev
          libsqlite3-dev libpq-dev libusrsctp-dev libcurl4-openssl-dev libhiredis-dev)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev libsrtp2-dev openssl
           python3 python3-websockets python3-jwt python3-cryptography
           curl procps coturn nginx-light groff-base prometheus
           postgresql redis-server
           dpkg-dev debhelper strace systemd
           chromium python3-aiortc nftables iproute2 util-linux
           gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
           gstreamer1.0-nice python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
           gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1)

case "${1:-run}" in
  run) pkgs=("${run_pkgs[@]}") ;;
  test) pkgs=("${run_pkgs[@]}" "${test_pkgs[@]}")
        # The browser tests need Node.js; a machine may have it from elsewhere (nodesource).
        command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm) ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=900 update -q
$sudo apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
