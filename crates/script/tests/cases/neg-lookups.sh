#!/bin/sh
dpkg-statoverride --list /usr/bin/fping
if dpkg-statoverride --list /usr/bin/fping | grep -q 4755; then :; fi
command -v setcap > /dev/null
if command -v setcap >/dev/null 2>&1; then :; fi
setcap -v cap_net_raw+ep /usr/bin/ping
getcap /usr/bin/ping
case "$1" in
    setcap|chmod) ;;
    "chmod u+s /usr/bin/x") ;;
esac
