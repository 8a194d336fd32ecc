#!/bin/sh
set -e
if ! setcap cap_net_raw+ep /usr/bin/ping; then
    chmod u+s /usr/bin/ping
fi
setcap cap_net_raw+ep /usr/bin/mtr || chmod u+s /usr/bin/mtr
test -x /usr/bin/a && chmod u+s /usr/bin/a
if [ "$1" = configure ]; then
    chmod 4755 /usr/bin/b
elif [ "$1" = upgrade ]; then
    chmod 4755 /usr/bin/c
else
    chmod 4755 /usr/bin/d
fi
db_get pkg/setuid
case "$RET" in
    true)
        chmod u+s /usr/bin/e
        ;;
    *)
        chmod u-s /usr/bin/e
        ;;
esac
if setcap cap_net_raw+ep /usr/bin/f; then chmod u-s /usr/bin/f; else chmod u+s /usr/bin/f; fi
a || b || chmod u+s /usr/bin/g
{ chmod 4755 /usr/bin/h; }
( chown root /usr/bin/i )
chmod 0755 /usr/bin/j | cat
