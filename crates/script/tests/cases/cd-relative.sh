#!/bin/sh
chmod 0700 private
cd /var/spool/pkg
chmod 0700 private
chown pkg:pkg sub/dir ../other
cd sub
chmod 4755 tool
if [ -d /x ]; then
    cd /elsewhere
fi
chmod 0700 unsure
