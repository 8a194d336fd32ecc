#!/bin/sh
install -d -oDebian-exim -gadm -m2750 /var/log/exim4
install -d -o root -g root -m 0755 /run/a /run/b
install --owner=root --group=shadow --mode=2755 /usr/share/pkg/helper /usr/bin/helper
install -m 4755 -o root build/tool /usr/lib/pkg/tool
install -dm750 /var/lib/c
install -D -m0644 src /etc/pkg/conf
install --directory --mode=1777 /var/tmp/d
install -m 0755 -t /usr/lib/pkg one/a two/b
