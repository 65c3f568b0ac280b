#!/usr/bin/env bash
# Idempotent set-up: npm packages; then, only where something is missing, Mesa's lavapipe from
# bookworm-backports (bookworm's own 22.3 build is refused by Dawn), Fashion-MNIST, and chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Only npm ci: it installs exactly the committed lock file and never rewrites it. The lock file lists every
  # platform's optional packages (rollup's native builds), which npm 10 and 11 both require.
  npm ci --no-audit --no-fund
fi

have_adapter() { node scripts/probe-adapter.mjs >/dev/null 2>&1; }
is_debian() { [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { $SUDO apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

if ! have_adapter; then
  if is_debian; then
    codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-bookworm}")
    if ! grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "deb http://deb.debian.org/debian ${codename}-backports main" | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
      apt_updated=""
    fi
    apt_install -t "${codename}-backports" mesa-vulkan-drivers libvulkan1
    have_adapter || { echo "setup: still no WebGPU adapter after installing lavapipe; run: node scripts/probe-adapter.mjs" >&2; exit 1; }
  else
    echo "setup: no WebGPU adapter and this is not Debian/Ubuntu: install a Vulkan driver (Mesa lavapipe >= 23) by hand" >&2
    exit 1
  fi
fi

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte ]; then
  if is_debian; then apt_install dataset-fashion-mnist || echo "setup: could not install dataset-fashion-mnist (training needs --data DIR)" >&2; fi
fi
# Chromium runs the browser test (headless WebGPU on its own SwiftShader adapter).
if ! command -v chromium >/dev/null && [ ! -x /usr/bin/chromium ] && is_debian; then
  apt_install chromium || echo "setup: could not install chromium (the browser test will be skipped)" >&2
fi
node scripts/probe-adapter.mjs
