#!/bin/sh
setcap cap_bogus+ep /usr/bin/a
setcap cap_net_raw+xyz /usr/bin/b
chmod u+q /usr/bin/c
chmod $MODE /usr/bin/d
setcap $CAPS /usr/bin/e
setcap cap_net_raw+ep
dpkg-statoverride --add root root u+s /usr/bin/f
dpkg-statoverride --add root /usr/bin/g
dpkg-statoverride --update --add "$OWNER" root 4755 /usr/bin/h
install -m "$M" src /usr/bin/i
