#!/bin/sh
chmod u+xs /etc/init.d/pkg
chmod 4755 /etc/init.d/pkg
chmod +x /etc/init.d/
