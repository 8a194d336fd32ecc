#!/bin/sh
echo "setcap cap_net_raw+ep /usr/bin/ping"
echo 'chmod u+s /usr/bin/ping' >&2
printf '%s\n' "chmod 4755 /usr/bin/x; chown root /usr/bin/x"
echo WARNING: setcap cap_net_raw+ep /usr/bin/fping failed
logger -t pkg "dpkg-statoverride --update --add root root 4755 /usr/bin/y"
