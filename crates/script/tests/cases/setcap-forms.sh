#!/bin/sh
set -e
setcap cap_net_raw+ep /usr/bin/ping
setcap CAP_NET_RAW=ep /usr/bin/ping2
setcap cap_net_raw,cap_net_admin=eip /usr/bin/dumpcap
setcap =ep /usr/bin/everything
setcap cap_net_raw+ep-e /usr/bin/permitted-only
setcap "cap_net_raw+ep cap_net_bind_service=p" /usr/bin/two-clauses
setcap -q -n 1000 cap_net_raw+ep /usr/bin/a cap_net_admin+ep /usr/bin/b
setcap -r /usr/bin/stripped
setcap cap_net_raw+ep /usr/bin/c -r /usr/bin/d
/sbin/setcap cap_net_raw+ep /usr/bin/by-path
command setcap cap_net_raw+ep /usr/bin/via-command
env LC_ALL=C setcap cap_net_raw+ep /usr/bin/via-env
setcap cap_net_raw-epi /usr/bin/cleared
