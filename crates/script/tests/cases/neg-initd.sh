#!/bin/sh
# Automatically added by dh_installinit
if [ -x "/etc/init.d/pkg" ]; then
    chmod +x /etc/init.d/pkg
    chmod a+x /etc/init.d/pkg-other
    chmod ugo+x,u+x /etc/init.d/pkg-third
fi
