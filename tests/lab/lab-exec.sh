#!/bin/bash
# lab-exec.sh CMD [ARG...] - run CMD inside the lab's network namespace, with the
# lab's environment: LAB, LAB_NETNS, LAB_CA, LAB_RESOLVER_CONF (libunbound config
# forwarding to the lab resolver), LAB_LOCALDATA_CONF, LAB_CATALOGUE, LAB_DNS,
# LAB_AUTHZONE_CONF, LAB_NSD, LAB_HTTPS (see $LAB/env).  /etc/resolv.conf inside is the lab unbound.
# Exit status is CMD's.  Env: LAB, LAB_NETNS.
set -eu
. "$(dirname "$0")/lab-lib.sh"
lab_check_env
[ $# -gt 0 ] || lab_die "usage: lab-exec.sh CMD [ARG...]"
lab_netns_exists && [ -f "$LAB/env" ] || lab_die "lab is not up (LAB=$LAB, netns $LAB_NETNS); run lab-up.sh"
. "$LAB/env"
exec ip netns exec "$LAB_NETNS" "$@"
