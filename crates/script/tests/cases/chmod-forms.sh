#!/bin/sh
chmod 4755 /usr/bin/a
chmod 755 /usr/bin/b
chmod 02750 /var/log/c
chmod u+s /usr/bin/d
chmod g+s /usr/bin/e
chmod u=rwxs,g=rx,o= /usr/bin/f
chmod a-w /usr/bin/g
chmod -R g+s /var/lib/h
chmod --recursive 0700 /var/lib/i
chmod 4755 /usr/bin/j /usr/bin/k
/usr/bin/chmod u+s /usr/bin/l
/bin/chmod -- -w /usr/bin/m
chmod +x /usr/lib/pkg/helper
chmod 04755 /usr/bin/n
