#!/bin/sh
for f in /usr/bin/ping /usr/bin/ping6; do
    setcap cap_net_raw+ep "$f"
done
for f in $(find /usr/lib/pkg -type f); do
    chmod u+s "$f"
done
for d in /var/lib/a /var/lib/b; do
    for f in x y; do
        chown root:adm "$d/$f"
    done
done
while read line; do
    chmod 4755 /usr/bin/in-while
done < /etc/list
until [ -e /tmp/x ]; do
    chmod 4755 /usr/bin/in-until
done
for f in /usr/bin/*; do chmod u+s "$f"; done
