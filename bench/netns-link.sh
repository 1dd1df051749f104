# Sourced by bench/switch-rack.sh and bench/tcp-netns.sh: one rank's network namespace, joined to
# a bridge in another namespace by a veth pair, as the port of a rack switch.
# usage: netns_rank_link NS DEV PORT BRIDGE_NS BRIDGE ADDR/PREFIX MTU
#   creates NS with lo up, the veth DEV (in NS, holding ADDR) and PORT (in BRIDGE_NS, enslaved to
#   BRIDGE), both with MTU and up. Shaping is the caller's.
netns_rank_link() {
  local ns=$1 dev=$2 port=$3 brns=$4 bridge=$5 addr=$6 mtu=$7
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add "$dev" mtu "$mtu" type veth peer name "$port" mtu "$mtu" netns "$brns"
  ip -n "$ns" addr add "$addr" dev "$dev"
  ip -n "$ns" link set "$dev" up
  ip -n "$brns" link set "$port" master "$bridge" up
}
