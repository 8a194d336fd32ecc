#!/bin/sh
dpkg-statoverride --update --add root root 4755 /usr/bin/a
dpkg-statoverride --add --update root adm 2750 /usr/bin/b
dpkg-statoverride --force --quiet --update --add root root 4755 /usr/bin/c
dpkg-statoverride --add daemon daemon 0750 /var/lib/d
dpkg-statoverride --remove /usr/bin/e
dpkg-statoverride --quiet --remove /usr/bin/f || true
if ! dpkg-statoverride --list /usr/bin/g >/dev/null; then
    dpkg-statoverride --update --add root messagebus 4754 /usr/bin/g
fi
