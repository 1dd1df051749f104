# Sourced on the device machine from the project root (bench/device/pack.sh made .dev/): node on
# PATH, the Vulkan loader with NVIDIA's ICD, the run-time modules, dist/ and the addon unpacked
# into the tree, Open MPI under /tmp/ompi.
dev=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p /tmp/bin && xz -dc "$dev/node.xz" > /tmp/bin/node && chmod +x /tmp/bin/node
export PATH=/tmp/ompi/bin:/tmp/bin:$PATH
for f in "$dev"/*.deb; do dpkg -x "$f" /; done; ldconfig
icd=$(ls /usr/local/nvidia/share/vulkan/icd.d/*.json 2>/dev/null | head -1)
[ -n "$icd" ] && export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
# The addon must be newer than the sources that travelled, or the loader calls it stale.
tar -xJf "$dev/nm.tar.xz" && touch native/build/Release/webccl_native.node
tar -xJf "$dev/ompi.tar.xz" -C /
